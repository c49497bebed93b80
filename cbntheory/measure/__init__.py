"""Certified intervals of the minimal norm over depths, bound tables, frequency structure."""
