"""Read CSV text one physical line at a time (the roster's reading, SPEC §2.2, issue 8).

A record never spans lines here: a stray `"` costs only the line it is on instead of swallowing
every row up to the next quote. A quoted field that does not close on its line is marked as such
(`Line.open_at`), and the next line is read as a row of its own.
"""

from __future__ import annotations

import csv
import re

from ..core.errors import Problem, UserError

# What ends a physical line for the csv module; str.splitlines also splits on \f, \x1c, U+2028 …,
# which csv treats as ordinary characters (the roster refuses them as control characters instead).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def physical_lines(text: str) -> list[str]:
    """`text` split where the csv module would end a line, and nowhere else."""
    return _LINE_BREAK.split(text)


class Line:
    """One physical line split into fields; `open_at` is the field whose quote never closed."""

    __slots__ = ("fields", "open_at", "unreadable")

    def __init__(self, text: str) -> None:
        self.open_at: int | None = None
        self.unreadable = False  # a field over csv's 128 KiB limit: the fields are unknown
        if '"' not in text:  # nearly every line: plain splitting is exactly what csv would do
            self.fields = text.split(",")
            return
        try:
            # The newline makes an unclosed quoted field visible: csv (non-strict) keeps it in
            # the field's value, which no closed field can end with.
            self.fields = next(csv.reader((text + "\n",)), [])
        except csv.Error:  # "field larger than field limit" (128 KiB)
            self.fields, self.unreadable = [], True
            return
        if self.fields and self.fields[-1].endswith("\n"):
            self.open_at = len(self.fields) - 1
            self.fields[-1] = self.fields[-1][:-1]

    @property
    def blank(self) -> bool:
        """A line of nothing but commas and spaces: padding, not a record."""
        return not (self.unreadable or self.open_at is not None or "".join(self.fields).strip())


def decode(raw: bytes, where_file: str, problems: list[Problem]) -> tuple[str, str]:
    """The text of a CSV export and its encoding ("utf-8" or "cp1252").

    UTF-8 (a BOM is dropped) is tried first; Windows-1252, what Excel writes for "CSV", is read
    with a warning appended to `problems`. Anything else is a `UserError`.
    """
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise UserError(
            Problem(
                where_file, "is neither UTF-8 nor Windows-1252 text; export the roster as UTF-8 CSV"
            )
        ) from None
    problems.append(
        Problem(
            where_file,
            "is not UTF-8, so it was read as Windows-1252; export the roster as "
            '"CSV UTF-8" to be sure accented names are read correctly',
            "warning",
        )
    )
    return text, "cp1252"
