"""Read the roster CSV (SPEC §2.2) into validated `Student`s, reporting bad rows precisely.

A bad row is skipped and reported with its line and column; the good rows go on to be planned. The
skipped rows are returned too (line, and id where readable), because the sync engine must keep
everything it already delivered for a student whose row could not be read this time (a typo must
not cancel a meeting), and every command must say which students it left out.

The file is read one physical line at a time: a record never spans lines, so a stray `"` costs
only the line it is on instead of swallowing every row up to the next quote (issue 8). A quoted
field that does not close on its line is reported as such; the next line is read as a row of its
own. Messages quote at most the one offending field, cut to 60 characters: the roster holds names,
birth dates and parents' phones, and an error message ends up in logs and terminals.
"""

from __future__ import annotations

import csv
import datetime as dt
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import Problem, UserError
from ..core.model import DecisionMaker, Student
from ..core.schedule import due_date_from
from .config import display_path

REQUIRED_COLUMNS: tuple[str, ...] = (
    "student_id",
    "first_name",
    "last_name",
    "birth_date",
    "building",
    "case_manager_email",
    "lea_email",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "grade",
    "gen_ed_emails",
    "provider_emails",
    "decision_maker_1_name",
    "decision_maker_1_email",
    "decision_maker_1_phone",
    "decision_maker_2_name",
    "decision_maker_2_email",
    "decision_maker_2_phone",
    "student_email",
    "last_iep_date",
    "iep_due_date",
    "reeval_due_date",
    "status",
)
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_POSITION = {name: i for i, name in enumerate(COLUMNS)}  # also the order of a row's messages

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
# What ends a physical line for the csv module; str.splitlines also splits on \f, \x1c, U+2028 …,
# which csv treats as ordinary characters (refused below as control characters instead).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Control characters other than tab, and the Unicode line/paragraph separators. Tested on a whole
# line first so that clean rows (nearly all) pay one regex search.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
# A plain address (issue 8: an address is used as a Graph mailbox path). The local part is
# dot-separated atoms of letters, digits and _ + ' - (so no "/", "\", "..", "%", "?", "#", spaces or
# control characters); the domain has at least two labels and ends in a letters-only TLD.
_LOCAL_PART = r"[\w+'-]+(?:\.[\w+'-]+)*"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,63}|xn--[\w-]{1,59})"  # letters, or an internationalised one in punycode
_PLAIN_ADDRESS = re.compile(rf"{_LOCAL_PART}@(?:{_LABEL}\.)+{_TLD}")


def shown(text: str) -> str:
    """`text` as a message may quote it: repr'd (control characters escaped), cut to 60 chars."""
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 1] + "…")


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A roster row that was not planned: its first line, and its student id if readable."""

    line: int
    student_id: str | None  # None when the id cell is bad or its place in the row is unsure

    def __str__(self) -> str:
        """E.g. ``line 7 (S1007)`` or ``line 12 (id unreadable)``."""
        sid = self.student_id
        return f"line {self.line} ({sid if sid is not None else 'id unreadable'})"


@dataclass(frozen=True, slots=True)
class RosterResult:
    """What a roster read produced: the good rows and everything wrong with the others."""

    students: tuple[Student, ...]  # good rows, active and exited, in file order
    problems: tuple[Problem, ...]  # errors (skipped rows) and warnings (encoding, mapping)
    encoding: str  # "utf-8" or "cp1252"
    skipped: tuple[SkippedRow, ...] = ()  # every row with an error, in line order

    @property
    def skipped_ids(self) -> frozenset[str]:
        """Readable ids of skipped rows: keep what was delivered for them."""
        return frozenset(s.student_id for s in self.skipped if s.student_id is not None)

    @property
    def skipped_lines(self) -> tuple[int, ...]:
        return tuple(s.line for s in self.skipped)

    def skipped_summary(self) -> str:
        """E.g. "2 rows skipped: line 7 (S1007), line 12 (id unreadable)"; "" when none was."""
        if not self.skipped:
            return ""
        count = len(self.skipped)
        listed = ", ".join(str(s) for s in self.skipped)
        return f"{count} row{'' if count == 1 else 's'} skipped: {listed}"

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity != "error")

    @property
    def active(self) -> tuple[Student, ...]:
        return tuple(s for s in self.students if s.status == "active")


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


class _Line:
    """One physical line split into fields; `open_at` is the field whose quote never closed."""

    __slots__ = ("fields", "open_at", "unreadable")

    def __init__(self, text: str) -> None:
        self.open_at: int | None = None
        self.unreadable = False
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
        return not (self.unreadable or self.open_at is not None or "".join(self.fields).strip())


def read_roster(
    path: Path, columns: Mapping[str, str] | None = None, *, today: dt.date | None = None
) -> RosterResult:
    """Read and validate the roster at `path`.

    `columns` maps our column names to the export's headers (`[roster.columns]`). Raises
    `UserError` when the file cannot be used at all (missing, undecodable, empty, header unusable,
    required columns missing); otherwise bad rows are reported in `problems` and skipped.

    `today` tightens the date checks when given: a birth date must lie in the last 30 years and
    IEP dates within 5 years of today. Without it (the reader has no clock), IEP dates must fall in
    2000–2099, a birth date within 30 years before the IEP due date, and the IEP due date and
    reevaluation date within 5 years of the last IEP date and the due date respectively.
    """
    where_file = display_path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(Problem(where_file, "roster file not found")) from None
    problems: list[Problem] = []
    text, encoding = _decode(raw, where_file, problems)
    lines = _LINE_BREAK.split(text)
    header_at = next((n for n, line in enumerate(lines) if not _Line(line).blank), None)
    if header_at is None:
        raise UserError(
            Problem(
                where_file,
                "is empty; expected a header row with the columns " + ", ".join(REQUIRED_COLUMNS),
            )
        )
    header = _read_header(lines[header_at], f"{where_file} line {header_at + 1}")
    index = _header_index(header, columns or {}, where_file, problems)
    parser = _RowParser(index, today)
    names = {i: ours for ours, i in index.items()}
    id_at = index["student_id"]
    width = len(header)

    def column_at(i: int) -> tuple[str, int]:
        """A field's column as messages name it, and its place in the order of a row's messages."""
        if i in names:
            return names[i], _POSITION[names[i]]
        label = header[i].strip() if i < width else ""
        return (label[:SHOWN] if label else f"#{i + 1}"), len(COLUMNS) + i

    good: list[Student] = []
    bad: dict[int, str | None] = {}  # line -> readable student id
    lines_of: dict[str, list[int]] = {}
    row_problems: list[tuple[int, int, Problem]] = []

    def report(line: int, place: int, column: str | None, message: str) -> None:
        where = f"{where_file} line {line}" + (f", column {column}" if column else "")
        row_problems.append((line, place, Problem(where, message)))

    for number in range(header_at + 1, len(lines)):
        line = number + 1
        split = _Line(lines[number])
        if split.blank:
            continue  # blank rows (or rows of bare commas) are padding, not students
        fields = split.fields
        sid: str | None = None
        if split.unreadable:
            report(line, -2, None, _too_long_message("a field"))  # over csv's 128 KiB limit
        elif split.open_at is not None:
            report(
                line,
                -2,
                column_at(split.open_at)[0],
                "a double quote opens this field but does not close on this line; a field "
                "may not hold a line break. Remove the stray quote or close it",
            )
            if id_at < split.open_at:  # fields before the open quote were read as written
                sid = _readable_id(fields[id_at])
        elif len(fields) != width:
            report(
                line,
                -2,
                None,
                f"has {len(fields)} fields but the header has {width}; put a value that holds a "
                "comma in double quotes, and keep empty cells as empty fields",
            )
            if id_at == 0:  # the first field stays first however the rest is misaligned
                sid = _readable_id(fields[0])
        else:
            sid = _readable_id(fields[id_at])
            long = []
            if max(map(len, fields)) > MAX_FIELD:  # one C-level pass for the usual clean row
                long = [i for i, cell in enumerate(fields) if len(cell) > MAX_FIELD]
            for i in long:
                column, place = column_at(i)
                report(line, place, column, _too_long_message(column, len(fields[i])))
            parsed = parser.parse(fields, line) if not long else []
            if isinstance(parsed, Student):
                good.append(parsed)
            else:
                for column, message in parsed:
                    report(line, _POSITION[column], column, message)
        if sid is not None:
            lines_of.setdefault(sid, []).append(line)
        if not (good and good[-1].line == line):  # this line did not become a student
            bad[line] = sid

    for sid, at in lines_of.items():
        if len(at) < 2:
            continue
        listed = ", ".join(str(n) for n in at)
        for line in at:
            bad[line] = sid
            report(
                line,
                -1,
                "student_id",
                f"student id {shown(sid)} appears on more than one row (lines {listed}); "
                "neither row is planned until the roster has one row per student",
            )
    row_problems.sort(key=lambda item: (item[0], item[1]))
    problems.extend(p for _, _, p in row_problems)
    students = tuple(s for s in good if s.line not in bad)
    if not students and not bad:
        problems.append(Problem(where_file, "has a header but no student rows", "warning"))
    return RosterResult(
        students=students,
        problems=tuple(problems),
        encoding=encoding,
        skipped=tuple(SkippedRow(line, bad[line]) for line in sorted(bad)),
    )


def _too_long_message(what: str, length: int | None = None) -> str:
    size = f"is {length:,} characters long" if length is not None else "is very long"
    return (
        f"{what} {size}, over the {MAX_FIELD:,} any roster value fits in; "
        "a stray double quote may have joined cells"
    )


def _student_id_problem(text: str) -> str | None:
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


def _readable_id(cell: str) -> str | None:
    """The id a skipped row can be named by, or None when the cell does not hold a usable id."""
    text = cell.strip()
    return text if _student_id_problem(text) is None else None


def _read_header(line: str, where: str) -> list[str]:
    split = _Line(line)
    if split.unreadable:
        raise UserError(Problem(where, _too_long_message("a field of the header row")))
    if split.open_at is not None:
        raise UserError(
            Problem(
                where,
                "the header row has a double quote that does not close on its line; "
                "remove the stray quote",
            )
        )
    return split.fields


def _decode(raw: bytes, where_file: str, problems: list[Problem]) -> tuple[str, str]:
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


def _norm(header: str) -> str:
    # A second BOM (a tool adding one to a file that had one) would otherwise hide the first header.
    return header.strip().lstrip("\ufeff").strip().casefold()


def _looks_like_a_student_row(header: list[str]) -> bool:
    """A first row holding a date or an address is data: the export has no header row."""
    for cell in header:
        text = cell.strip()
        if "@" in text:
            return True
        try:
            parse_date(text)
        except ValueError:
            continue
        return True
    return False


def _header_index(
    header: list[str], columns: Mapping[str, str], where_file: str, problems: list[Problem]
) -> dict[str, int]:
    """Our column name -> index in the row, matching headers case-insensitively after trimming."""
    for ours in columns:
        if ours not in COLUMNS:
            problems.append(
                Problem(
                    f"[roster.columns] {ours[:SHOWN]}",
                    f"{shown(ours)} is not a roster column; known: {', '.join(COLUMNS)}",
                    "warning",
                )
            )
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(_norm(name), []).append(i)
    index: dict[str, int] = {}
    fatal: list[Problem] = []
    for ours in COLUMNS:
        wanted = columns.get(ours, ours)
        found = positions.get(_norm(wanted), [])
        if len(found) > 1:
            fatal.append(
                Problem(where_file, f"the header {shown(wanted)} appears {len(found)} times")
            )
        elif found:
            index[ours] = found[0]
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        names = ", ".join(missing)
        if _looks_like_a_student_row(header):
            # Listing the "headers" would print a student's row: name, birth date, emails.
            found_text = "the first row holds a date or an email address, so it is a student row"
        else:
            found_text = "headers found: " + ", ".join(
                shown(h.strip()) for h in header if h.strip()
            )
        fatal.append(
            Problem(
                where_file,
                f"missing required column{'s' if len(missing) > 1 else ''} {names} "
                f"({found_text}). If your export names them differently, map them "
                f'in [roster.columns], e.g. {missing[0]} = "Header In Your File"',
            )
        )
    if fatal:
        raise UserError(fatal)
    return index


class _RowParser:
    """Turns one CSV row into a Student, or into every (column, message) wrong with it.

    Errors are collected, not raised, so a row reports all its bad cells at once; and the cells
    are picked once per row because this runs for every row of a 10,000-row roster.
    """

    __slots__ = ("_dates", "_emails", "_lists", "_pick", "_today")

    def __init__(self, index: dict[str, int], today: dt.date | None) -> None:
        # Columns the file lacks read the empty cell `parse` appends to every row (index -1).
        self._pick = operator.itemgetter(*(index.get(name, -1) for name in COLUMNS))
        self._today = today
        # Valid values seen before: case-manager, LEA and teacher emails and many dates repeat on
        # most rows of a real roster, so each distinct text is validated once.
        self._emails: dict[str, str] = {}
        self._dates: dict[str, dt.date] = {}
        self._lists: dict[str, tuple[str, ...]] = {}

    def parse(self, row: list[str], line: int) -> Student | list[tuple[str, str]]:
        """`row` has exactly the header's number of fields."""
        raw: tuple[str, ...] = self._pick([*row, ""])
        errors: list[tuple[str, str]] = []
        # Before trimming: str.strip() would silently drop a trailing \x0b or \x1c.
        if _CONTROL.search("".join(raw)):
            for column, cell in zip(COLUMNS, raw, strict=True):
                if found := _CONTROL.search(cell):
                    errors.append(
                        (
                            column,
                            f"{column} holds the control character U+{ord(found.group()):04X}; "
                            "remove it",
                        )
                    )
            return errors
        cells = [cell.strip() for cell in raw]
        (
            student_id,
            first_name,
            last_name,
            birth_text,
            building,
            cm_text,
            lea_text,
            grade,
            gen_ed_text,
            providers_text,
            dm1_name,
            dm1_email,
            dm1_phone,
            dm2_name,
            dm2_email,
            dm2_phone,
            student_email_text,
            last_iep_text,
            iep_due_text,
            reeval_text,
            status_text,
        ) = cells
        if (problem := _student_id_problem(student_id)) is not None:
            errors.append(("student_id", problem))
        for column, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("building", building),
        ):
            if not value:
                errors.append((column, f"{column} is empty; it is required"))
        birth_date = self.date(birth_text, "birth_date", errors, required=True)
        case_manager = self.email(cm_text, "case_manager_email", errors, required=True)
        lea = self.email(lea_text, "lea_email", errors, required=True)
        gen_ed = self.emails(gen_ed_text, "gen_ed_emails", errors)
        providers = self.emails(providers_text, "provider_emails", errors)
        decision_makers = tuple(
            dm
            for dm in (
                self.decision_maker(1, dm1_name, dm1_email, dm1_phone, errors),
                self.decision_maker(2, dm2_name, dm2_email, dm2_phone, errors),
            )
            if dm is not None
        )
        student_email = self.email(student_email_text, "student_email", errors)
        last_iep = self.iep_date(last_iep_text, "last_iep_date", errors)
        iep_due = self.iep_date(iep_due_text, "iep_due_date", errors)
        reeval_due = self.iep_date(reeval_text, "reeval_due_date", errors)
        if last_iep is not None and iep_due is not None:
            self.near(iep_due, "iep_due_date", last_iep, "last_iep_date", errors)
        due = due_date_from(last_iep, iep_due)
        if due is None and not (last_iep_text or iep_due_text):
            errors.append(
                (
                    "iep_due_date",
                    "neither last_iep_date nor iep_due_date is given; one of them is required",
                )
            )
        if reeval_due is not None and due is not None:
            self.near(reeval_due, "reeval_due_date", due, "the IEP due date", errors)
        status = status_text.casefold() or "active"
        if status not in ("active", "exited"):
            errors.append(("status", f"{shown(status_text)} is not a status; use active or exited"))
        if birth_date is not None:
            self.check_birth(birth_date, due, errors)
        if errors or birth_date is None or due is None:
            return errors
        return Student(
            student_id=student_id,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            building=" ".join(building.split()),
            case_manager_email=case_manager,
            lea_email=lea,
            due_date=due,
            grade=grade,
            gen_ed_emails=gen_ed,
            provider_emails=providers,
            decision_makers=decision_makers,
            student_email=student_email,
            last_iep_date=last_iep,
            iep_due_date=iep_due,
            reeval_due_date=reeval_due,
            status="exited" if status == "exited" else "active",
            line=line,
        )

    def check_birth(
        self, birth_date: dt.date, due: dt.date | None, errors: list[tuple[str, str]]
    ) -> None:
        born = birth_date.isoformat()
        today = self._today
        if today is not None and birth_date > today:
            errors.append(("birth_date", f"{born} is in the future"))
        elif today is not None and _years_between(birth_date, today) > MAX_AGE_YEARS:
            errors.append(
                ("birth_date", f"{born} is more than {MAX_AGE_YEARS} years ago; check the year")
            )
        elif due is not None and birth_date >= due:
            errors.append(("birth_date", f"{born} is not before the IEP due date; check the year"))
        elif due is not None and _years_between(birth_date, due) > MAX_AGE_YEARS:
            errors.append(
                (
                    "birth_date",
                    f"{born} makes the student older than {MAX_AGE_YEARS} at the IEP due date; "
                    "check the year",
                )
            )

    def iep_date(self, text: str, column: str, errors: list[tuple[str, str]]) -> dt.date | None:
        """An IEP date in the plausible window (today ± 5 years, else 2000–2099), else None."""
        day = self.date(text, column, errors)
        if day is None:
            return None
        if self._today is not None:
            return (
                day
                if self.near(day, column, self._today, f"today ({self._today.isoformat()})", errors)
                else None
            )
        if _EARLIEST_IEP_DATE <= day <= _LATEST_IEP_DATE:
            return day
        errors.append(
            (
                column,
                f"{day.isoformat()} is not a plausible IEP date (expected "
                f"{_EARLIEST_IEP_DATE.year}–{_LATEST_IEP_DATE.year}); check the year",
            )
        )
        return None

    @staticmethod
    def near(
        day: dt.date, column: str, reference: dt.date, what: str, errors: list[tuple[str, str]]
    ) -> bool:
        """True when `day` is less than 5 years from `reference`; else an error for `column`.

        `what` names the reference; a message may show the offending field only, so another
        column's value is named by its column, never quoted.
        """
        if _years_between(min(day, reference), max(day, reference)) < IEP_DATE_SPAN_YEARS:
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
        self, text: str, column: str, errors: list[tuple[str, str]], *, required: bool = False
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

    def email(
        self, text: str, column: str, errors: list[tuple[str, str]], *, required: bool = False
    ) -> str:
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

    def emails(self, text: str, column: str, errors: list[tuple[str, str]]) -> tuple[str, ...]:
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

    def decision_maker(
        self, n: int, name: str, email_text: str, phone: str, errors: list[tuple[str, str]]
    ) -> DecisionMaker | None:
        if not (name or email_text or phone):
            return None
        email = self.email(email_text, f"decision_maker_{n}_email", errors)
        if not name:
            column = f"decision_maker_{n}_name"
            errors.append((column, f"{column} is empty but an email or phone is given"))
            return None
        return DecisionMaker(name=name, email=email, phone=phone)


def _years_between(earlier: dt.date, later: dt.date) -> int:
    """Whole years from `earlier` to `later` (as relativedelta(later, earlier).years)."""
    years = later.year - earlier.year
    if (later.month, later.day) < (earlier.month, earlier.day):
        years -= 1
    return years
