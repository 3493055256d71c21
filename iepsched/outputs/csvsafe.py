"""The one CSV formula guard (OWASP CSV injection): every CSV iepsched writes passes cells here."""

from __future__ import annotations

# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: formula-like values get a leading single quote."""
    return f"'{cell}" if cell.startswith(FORMULA_PREFIXES) else cell
