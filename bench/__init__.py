"""Benchmarks, run as scripts (`python -m bench.<name>`): they print figures, not test verdicts.

The figures are meant to be read next to ARCHITECTURE.md's "Measured on these machines"
floor; a benchmark fails only when its result is wrong (lost or duplicated work), never
because it is slow.
"""
