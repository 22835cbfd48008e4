"""Fuzzing harnesses for the code that reads what strangers send (`make fuzz`; see docs/security.md).

One module per target; each has `target() -> engine.Target`. `python -m fuzz` runs them all.
"""
