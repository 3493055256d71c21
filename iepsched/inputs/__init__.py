"""Inputs: the TOML config, the roster CSV and the school calendars, read and validated."""
