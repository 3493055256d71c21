"""File-system helpers every adapter floor shares; standard library only, imports no iepsched."""
