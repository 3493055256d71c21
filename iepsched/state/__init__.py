"""State: the SQLite store (items, legal logs, runs) and the plan answer cache."""
