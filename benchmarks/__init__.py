"""Benchmarks of the load tool and the mock: printed figures, not timed tests (run them with `python -m`)."""
