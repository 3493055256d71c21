"""Orchestration: load a district with its state, and run the nightly sync."""
