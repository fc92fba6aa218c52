"""Analyses built on the engine: what-if scenarios, comparisons, stress tests and sensitivity."""
