"""asv benchmarks of zoo (see docs/speed.md for how to run and compare them)."""
