"""Fleet-scale benchmarks: `python -m benchmarks.run` (or `make bench`)."""
