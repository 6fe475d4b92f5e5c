"""Benchmarks: each `python -m bench.<name>` prints one JSON object with its figures and
the ratio to the named peer, measured in the same run (see docs/performance.md)."""
