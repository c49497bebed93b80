"""Rendering (Markdown, LaTeX, CSV, JSON), figures, the report, atomic files, the progress bar."""
