"""Benchmarks against Home Assistant's own floor, measured in the same runs (A B A B ...).

Run by scripts/bench (`python -m callerid_dev.bench`); see docs/benchmarks.md.
"""
