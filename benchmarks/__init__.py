"""Benchmarks of issue 11's table: ``python -m benchmarks`` writes benchmarks/RESULTS.md."""
