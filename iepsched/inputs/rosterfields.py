"""The roster's per-column value checks (SPEC §2.2): dates, addresses, ids, choices, yes/no.

Each check appends `(column, message)` to an error list instead of raising, so a row reports all
its bad cells at once. Messages quote at most the one offending field, cut to 60 characters: the
roster holds names, birth dates and parents' phones, and an error message ends up in logs and
terminals. Another column's value is named by its column, never quoted.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from ..core.model import DecisionMaker

MAX_FIELD = 1_000  # SPEC §2.2: a longer field is an error (real values are far shorter)
MAX_STUDENT_ID = 64
SHOWN = 60  # a message quotes at most this much of the offending field

# Plausible dates. Without `today` an IEP date must fall in this century, and a student is at most
# this old at the IEP due date (IDEA serves students up to 21; 30 leaves room for odd cases).
_EARLIEST_IEP_DATE = dt.date(2000, 1, 1)
_LATEST_IEP_DATE = dt.date(2099, 12, 31)
MAX_AGE_YEARS = 30
IEP_DATE_SPAN_YEARS = 5  # an IEP date this far from its reference is a typo (9999-12-31, 2062 …)

_DATE_HELP = "use YYYY-MM-DD or M/D/YYYY"
# Control characters other than tab, and the Unicode line/paragraph separators. Tested on a whole
# row first so that clean rows (nearly all) pay one regex search.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
# CONTROL without the line breaks \n and \r, which no physical line holds: what a whole file is
# searched for before its rows are (a row holds a control character only if the file does).
CONTROL_IN_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
# A plain address (issue 8: an address is used as a Graph mailbox path). The local part is
# dot-separated atoms of letters, digits and _ + ' - (so no "/", "\", "..", "%", "?", "#", spaces or
# control characters); the domain has at least two labels and ends in a letters-only TLD.
_LOCAL_PART = r"[\w+'-]+(?:\.[\w+'-]+)*"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,63}|xn--[\w-]{1,59})"  # letters, or an internationalised one in punycode
_PLAIN_ADDRESS = re.compile(rf"{_LOCAL_PART}@(?:{_LABEL}\.)+{_TLD}")

# has_bip: what spreadsheets and student-information systems write for a yes/no column.
_YES_NO = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
}
_YES_NO_HELP = "use yes or no (y/n, true/false and 1/0 are read too)"
_LANGUAGES: dict[str, Literal["en", "es"]] = {"en": "en", "es": "es"}
_TRANSFER_TYPES: dict[str, Literal["in_state", "out_of_state"]] = {
    "in_state": "in_state",
    "out_of_state": "out_of_state",
}

Errors = list[tuple[str, str]]  # (column, message) for each bad cell of a row


def shown(text: str) -> str:
    """`text` as a message may quote it: repr'd (control characters escaped), cut to 60 chars."""
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 1] + "…")


def parse_date(text: str) -> dt.date:
    """A roster date: YYYY-MM-DD or M/D/YYYY; ValueError (with the message to show) otherwise."""
    # String tests instead of a regex: this runs for several cells of every row.
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            if text.isascii() and text[:4].isdigit() and text[5:7].isdigit():
                return dt.date.fromisoformat(text)
        else:
            month, day, year = text.split("/")
            if (
                len(year) == 4
                and 0 < len(month) < 3
                and 0 < len(day) < 3
                and (month + day + year).isascii()
                and (month + day + year).isdigit()
            ):
                return dt.date(int(year), int(month), int(day))
    except ValueError:
        pass
    raise ValueError(f"{shown(text)} is not a date; {_DATE_HELP}")


def is_plain_address(text: str) -> bool:
    """True for a plain email address such as ``first.last@district.example.org``.

    Strict on purpose: addresses become Graph mailbox paths (``/users/{address}/…``), so nothing
    that could climb a path, start a query or hide a control character passes.
    """
    local = text.rpartition("@")[0]
    return 0 < len(local) <= 64 and len(text) <= 254 and _PLAIN_ADDRESS.fullmatch(text) is not None


def too_long_message(what: str, length: int | None = None) -> str:
    size = f"is {length:,} characters long" if length is not None else "is very long"
    return (
        f"{what} {size}, over the {MAX_FIELD:,} any roster value fits in; "
        "a stray double quote may have joined cells"
    )


def student_id_problem(text: str) -> str | None:
    """Why `text` (trimmed) cannot be a student id, or None when it can."""
    if not text:
        return "student_id is empty; it is required"
    if len(text) > MAX_STUDENT_ID:
        return f"student_id is longer than {MAX_STUDENT_ID} characters"
    if not text.isprintable():  # control, format (BOM, bidi), separator and unassigned characters
        bad = next(c for c in text if not c.isprintable())
        return f"student_id holds the invisible or control character U+{ord(bad):04X}; remove it"
    if '"' in text:  # the tail of a quoted field broken over two lines, never a real id
        return "student_id holds a double quote; remove it"
    return None


def readable_id(cell: str) -> str | None:
    """The id a skipped row can be named by, or None when the cell does not hold a usable id."""
    text = cell.strip()
    return text if student_id_problem(text) is None else None


def control_errors(columns: tuple[str, ...], cells: tuple[str, ...]) -> Errors:
    """One error per cell holding a control character (checked before trimming hides one)."""
    errors: Errors = []
    for column, cell in zip(columns, cells, strict=True):
        if found := CONTROL.search(cell):
            code = f"U+{ord(found.group()):04X}"
            errors.append((column, f"{column} holds the control character {code}; remove it"))
    return errors


def years_between(earlier: dt.date, later: dt.date) -> int:
    """Whole years from `earlier` to `later` (as relativedelta(later, earlier).years)."""
    years = later.year - earlier.year
    if (later.month, later.day) < (earlier.month, earlier.day):
        years -= 1
    return years


def home_language(text: str, errors: Errors) -> Literal["en", "es"]:
    """The language of the parents' notice: en (also when empty) or es, in any case."""
    if not text:
        return "en"
    language = _LANGUAGES.get(text.casefold())
    if language is None:
        errors.append(("home_language", f"{shown(text)} is not a home language; use en or es"))
        return "en"
    return language


def yes_no(text: str, column: str, errors: Errors) -> bool:
    """A yes/no cell; empty is no."""
    if not text:
        return False
    value = _YES_NO.get(text.casefold())
    if value is None:
        errors.append((column, f"{shown(text)} is not yes or no; {_YES_NO_HELP}"))
        return False
    return value


class FieldReader:
    """Cell checks that remember the values they accepted.

    Case-manager, LEA and teacher emails and many dates repeat on most rows of a real roster, so
    each distinct text is validated once. `today` tightens the date checks when given.
    """

    __slots__ = ("_dates", "_emails", "_iep_dates", "_lists", "_today")

    def __init__(self, today: dt.date | None) -> None:
        self._today = today
        self._emails: dict[str, str] = {}
        self._dates: dict[str, dt.date] = {}
        self._iep_dates: dict[str, dt.date] = {}  # texts `iep_date` accepted (in any column)
        self._lists: dict[str, tuple[str, ...]] = {}

    def check_birth(self, birth_date: dt.date, due: dt.date | None, errors: Errors) -> None:
        today = self._today
        if today is not None and birth_date > today:
            problem = "is in the future"
        elif today is not None and years_between(birth_date, today) > MAX_AGE_YEARS:
            problem = f"is more than {MAX_AGE_YEARS} years ago; check the year"
        elif due is not None and birth_date >= due:
            problem = "is not before the IEP due date; check the year"
        elif due is not None and years_between(birth_date, due) > MAX_AGE_YEARS:
            problem = (
                f"makes the student older than {MAX_AGE_YEARS} at the IEP due date; check the year"
            )
        else:
            return  # the usual row: no message, so no text of the date either
        errors.append(("birth_date", f"{birth_date.isoformat()} {problem}"))

    def iep_date(
        self, text: str, column: str, errors: Errors, *, what: str = "IEP date"
    ) -> dt.date | None:
        """A date of the IEP process in the plausible window (today ± 5 years, else 2000–2099).

        `what` names the kind of date in the message ("IEP date", or "date" for a consent or
        transfer date).
        """
        known = self._iep_dates.get(text)
        if known is not None:
            return known  # the column and `what` only word a message, and this one had none
        day = self.date(text, column, errors)
        if day is None:
            return None
        if self._today is not None:
            if self.near(day, column, self._today, f"today ({self._today.isoformat()})", errors):
                self._iep_dates[text] = day
                return day
            return None
        if _EARLIEST_IEP_DATE <= day <= _LATEST_IEP_DATE:
            self._iep_dates[text] = day
            return day
        errors.append(
            (
                column,
                f"{day.isoformat()} is not a plausible {what} (expected "
                f"{_EARLIEST_IEP_DATE.year}–{_LATEST_IEP_DATE.year}); check the year",
            )
        )
        return None

    @staticmethod
    def near(day: dt.date, column: str, reference: dt.date, what: str, errors: Errors) -> bool:
        """True when `day` is less than 5 years from `reference`; else an error for `column`.

        `what` names the reference; a message may show the offending field only, so another
        column's value is named by its column, never quoted.
        """
        if years_between(min(day, reference), max(day, reference)) < IEP_DATE_SPAN_YEARS:
            return True
        errors.append(
            (
                column,
                f"{day.isoformat()} is {IEP_DATE_SPAN_YEARS} years or more from {what}; "
                "check the year",
            )
        )
        return False

    def date(
        self, text: str, column: str, errors: Errors, *, required: bool = False
    ) -> dt.date | None:
        if not text:
            if required:
                errors.append((column, f"{column} is empty; it is required"))
            return None
        day = self._dates.get(text)
        if day is None:
            try:
                day = self._dates[text] = parse_date(text)
            except ValueError as exc:
                errors.append((column, str(exc)))
        return day

    def email(self, text: str, column: str, errors: Errors, *, required: bool = False) -> str:
        if not text:
            if required:
                errors.append((column, f"{column} is empty; it is required"))
            return ""
        known = self._emails.get(text)
        if known is not None:
            return known
        email = text.lower()
        if is_plain_address(email):
            self._emails[text] = email
            return email
        if "," in text:
            errors.append((column, f"{shown(text)}: separate email addresses with ';'"))
        else:
            errors.append(
                (
                    column,
                    f"{shown(text)} is not an email address (expected name@example.org)",
                )
            )
        return ""

    def emails(self, text: str, column: str, errors: Errors) -> tuple[str, ...]:
        if not text:
            return ()
        known = self._lists.get(text)
        if known is not None:
            return known
        before = len(errors)
        found: dict[str, None] = {}
        for part in text.split(";"):
            part = part.strip()
            if part and (email := self.email(part, column, errors)):
                found.setdefault(email, None)
        result = tuple(found)
        if len(errors) == before:
            self._lists[text] = result
        return result

    def transfer(
        self, date_text: str, type_text: str, errors: Errors
    ) -> tuple[dt.date | None, Literal["in_state", "out_of_state"] | None]:
        """transfer_in_date and transfer_type: both given or neither (each means little alone)."""
        day = self.iep_date(date_text, "transfer_in_date", errors, what="date")
        kind = _TRANSFER_TYPES.get(type_text.casefold()) if type_text else None
        if type_text and kind is None:
            message = f"{shown(type_text)} is not a transfer type; use in_state or out_of_state"
            errors.append(("transfer_type", message))
        if type_text and not date_text:
            message = "transfer_in_date is empty but transfer_type is given; give both or neither"
            errors.append(("transfer_in_date", message))
        elif date_text and not type_text:
            message = (
                "transfer_type is empty but transfer_in_date is given; use in_state or out_of_state"
            )
            errors.append(("transfer_type", message))
        return day, kind

    def decision_maker(
        self, n: int, cells: tuple[str, str, str, str], errors: Errors
    ) -> DecisionMaker | None:
        """Decision maker `n` from its name, email, phone and address cells; None when all empty."""
        name, email_text, phone, address = cells
        if not (name or email_text or phone or address):
            return None
        email = self.email(email_text, f"decision_maker_{n}_email", errors)
        if not name:
            column = f"decision_maker_{n}_name"
            given = "an email or phone" if email_text or phone else "an address"
            errors.append((column, f"{column} is empty but {given} is given"))
            return None
        return DecisionMaker(name=name, email=email, phone=phone, address=address)
