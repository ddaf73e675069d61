"""Helpers shared by the test suite (importable as ``support.*`` because ``tests/`` is on sys.path)."""
