"""The sweep tests run the test-only job kinds of ``_sweep_helpers`` (echo, spin)."""
import _sweep_helpers

_sweep_helpers.use_test_kinds()
