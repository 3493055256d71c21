"""Read the roster CSV (SPEC §2.2) into validated `Student`s, reporting bad rows precisely.

A bad row is skipped and reported with its line and column; the good rows go on to be planned. The
ids of skipped rows are returned too, because the sync engine must keep everything it already
delivered for a student whose row could not be read this time (a typo must not cancel a meeting).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .config import display_path
from .errors import Problem, UserError
from .model import DecisionMaker, Student
from .schedule import due_date_from

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

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
_DATE_HELP = "use YYYY-MM-DD or M/D/YYYY"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RosterResult:
    """What a roster read produced: the good rows and everything wrong with the others."""

    students: tuple[Student, ...]  # good rows, active and exited, in file order
    problems: tuple[Problem, ...]  # errors (skipped rows) and warnings (encoding, mapping)
    skipped_ids: frozenset[str]  # readable ids of skipped rows: keep what was delivered for them
    encoding: str  # "utf-8" or "cp1252"
    skipped_lines: tuple[int, ...] = field(default=())  # first line of every skipped row

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity != "error")

    @property
    def active(self) -> tuple[Student, ...]:
        return tuple(s for s in self.students if s.status == "active")


class _RowError(Exception):
    """One bad cell; carries the column so the message can point at it."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class _RowErrors(Exception):
    """Every bad cell of one row."""

    def __init__(self, errors: list[_RowError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def parse_date(text: str) -> dt.date:
    """A roster date: YYYY-MM-DD or M/D/YYYY; ValueError (with the message to show) otherwise."""
    match = _ISO.match(text) or _US.match(text)
    if match is not None:
        a, b, c = (int(g) for g in match.groups())
        try:
            return dt.date(a, b, c) if match.re is _ISO else dt.date(c, a, b)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date; {_DATE_HELP}")


def read_roster(path: Path, columns: Mapping[str, str] | None = None) -> RosterResult:
    """Read and validate the roster at `path`.

    `columns` maps our column names to the export's headers (`[roster.columns]`). Raises
    `UserError` when the file cannot be used at all (missing, undecodable, empty, required columns
    missing); otherwise bad rows are reported in `problems` and skipped.
    """
    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(Problem(shown, "roster file not found")) from None
    problems: list[Problem] = []
    text, encoding = _decode(raw, shown, problems)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for header in reader:
        if any(cell.strip() for cell in header):
            break
    else:
        header = None
    if header is None:
        raise UserError(
            Problem(
                shown,
                "is empty; expected a header row with the columns " + ", ".join(REQUIRED_COLUMNS),
            )
        )
    index = _header_index(header, columns or {}, shown, problems)
    parser = _RowParser(index)

    good: list[tuple[int, Student]] = []
    bad: dict[int, str] = {}  # line -> student id ("" when unreadable)
    lines_of: dict[str, list[int]] = {}
    row_problems: list[tuple[int, int, Problem]] = []
    order = {name: i for i, name in enumerate(COLUMNS)}
    end_line = reader.line_num
    for row in reader:
        line = end_line + 1
        end_line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank rows (or rows of bare commas) are padding, not students
        sid = parser.cell(row, "student_id")
        if sid:
            lines_of.setdefault(sid, []).append(line)
        try:
            student = parser.student(row, line)
        except _RowErrors as exc:
            bad[line] = sid
            for error in exc.errors:
                where = f"{shown} line {line}, column {error.column}"
                row_problems.append((line, order[error.column], Problem(where, error.message)))
            continue
        good.append((line, student))

    duplicates = {sid: lines for sid, lines in lines_of.items() if len(lines) > 1}
    for sid, lines in duplicates.items():
        listed = ", ".join(str(n) for n in lines)
        for line in lines:
            bad.setdefault(line, sid)
            row_problems.append(
                (
                    line,
                    -1,
                    Problem(
                        f"{shown} line {line}, column student_id",
                        f"student id {sid!r} appears on more than one row (lines {listed}); "
                        "neither row is planned until the roster has one row per student",
                    ),
                )
            )
    row_problems.sort(key=lambda item: (item[0], item[1]))
    problems.extend(p for _, _, p in row_problems)
    students = tuple(s for line, s in good if line not in bad)
    if not students and not bad:
        problems.append(Problem(shown, "has a header but no student rows", "warning"))
    return RosterResult(
        students=students,
        problems=tuple(problems),
        skipped_ids=frozenset(sid for sid in bad.values() if sid),
        encoding=encoding,
        skipped_lines=tuple(sorted(bad)),
    )


def _decode(raw: bytes, shown: str, problems: list[Problem]) -> tuple[str, str]:
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise UserError(
            Problem(shown, "is neither UTF-8 nor Windows-1252 text; export the roster as UTF-8 CSV")
        ) from None
    problems.append(
        Problem(
            shown,
            'is not UTF-8; read it as Windows-1252. Export the roster as "CSV UTF-8" so names '
            "with accents are read correctly for sure",
            "warning",
        )
    )
    return text, "cp1252"


def _norm(header: str) -> str:
    return header.strip().casefold()


def _header_index(
    header: list[str], columns: Mapping[str, str], shown: str, problems: list[Problem]
) -> dict[str, int]:
    """Our column name -> index in the row, matching headers case-insensitively after trimming."""
    for ours in columns:
        if ours not in COLUMNS:
            problems.append(
                Problem(
                    f"[roster.columns] {ours}",
                    f"{ours!r} is not a roster column; known: {', '.join(COLUMNS)}",
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
            fatal.append(Problem(shown, f"the header {wanted!r} appears {len(found)} times"))
        elif found:
            index[ours] = found[0]
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        headers = ", ".join(repr(h.strip()) for h in header if h.strip())
        names = ", ".join(missing)
        fatal.append(
            Problem(
                shown,
                f"missing required column{'s' if len(missing) > 1 else ''} {names} "
                f"(headers found: {headers}). If your export names them differently, map them "
                f'in [roster.columns], e.g. {missing[0]} = "Header In Your File"',
            )
        )
    if fatal:
        raise UserError(fatal)
    return index


class _RowParser:
    """Turns one CSV row into a Student, raising _RowError at the first bad cell."""

    __slots__ = ("_index",)

    def __init__(self, index: dict[str, int]) -> None:
        self._index = index

    def cell(self, row: list[str], name: str) -> str:
        i = self._index.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    def required(self, row: list[str], name: str) -> str:
        value = self.cell(row, name)
        if not value:
            raise _RowError(name, f"{name} is empty; it is required")
        return value

    def date(self, row: list[str], name: str, *, required: bool = False) -> dt.date | None:
        value = self.required(row, name) if required else self.cell(row, name)
        if not value:
            return None
        try:
            return parse_date(value)
        except ValueError as exc:
            raise _RowError(name, str(exc)) from None

    def email(self, row: list[str], name: str, *, required: bool = False) -> str:
        value = self.required(row, name) if required else self.cell(row, name)
        return _email(value, name) if value else ""

    def emails(self, row: list[str], name: str) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for part in self.cell(row, name).split(";"):
            if part.strip():
                found.setdefault(_email(part, name), None)
        return tuple(found)

    def student(self, row: list[str], line: int) -> Student:
        """The row as a Student; raises _RowErrors naming every bad cell of the row at once."""
        errors: list[_RowError] = []

        def check(get: Callable[[], T]) -> T | None:
            try:
                return get()
            except _RowError as exc:
                errors.append(exc)
                return None

        student_id = check(lambda: self.required(row, "student_id"))
        first_name = check(lambda: self.required(row, "first_name"))
        last_name = check(lambda: self.required(row, "last_name"))
        birth_date = check(lambda: self.date(row, "birth_date", required=True))
        building = check(lambda: " ".join(self.required(row, "building").split()))
        case_manager = check(lambda: self.email(row, "case_manager_email", required=True))
        lea = check(lambda: self.email(row, "lea_email", required=True))
        gen_ed = check(lambda: self.emails(row, "gen_ed_emails"))
        providers = check(lambda: self.emails(row, "provider_emails"))
        dm1 = check(lambda: self.decision_maker(row, 1))
        dm2 = check(lambda: self.decision_maker(row, 2))
        student_email = check(lambda: self.email(row, "student_email"))
        last_iep = check(lambda: self.date(row, "last_iep_date"))
        iep_due = check(lambda: self.date(row, "iep_due_date"))
        reeval_due = check(lambda: self.date(row, "reeval_due_date"))
        due = due_date_from(last_iep, iep_due)
        dates_read = not any(e.column in ("last_iep_date", "iep_due_date") for e in errors)
        if due is None and dates_read:
            errors.append(
                _RowError(
                    "iep_due_date",
                    "neither last_iep_date nor iep_due_date is given; one of them is required",
                )
            )
        status = self.cell(row, "status").casefold() or "active"
        if status not in ("active", "exited"):
            errors.append(
                _RowError(
                    "status", f"{self.cell(row, 'status')!r} is not a status; use active or exited"
                )
            )
        if birth_date is not None and due is not None and birth_date >= due:
            errors.append(
                _RowError(
                    "birth_date",
                    f"{birth_date.isoformat()} is not before the IEP due date {due.isoformat()}",
                )
            )
        if errors:
            raise _RowErrors(errors)
        # Every value below was read without error, so none of them is None.
        assert student_id and first_name and last_name and building and case_manager and lea
        assert birth_date is not None and due is not None
        return Student(
            student_id=student_id,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            building=building,
            case_manager_email=case_manager,
            lea_email=lea,
            due_date=due,
            grade=self.cell(row, "grade"),
            gen_ed_emails=gen_ed or (),
            provider_emails=providers or (),
            decision_makers=tuple(dm for dm in (dm1, dm2) if dm is not None),
            student_email=student_email or "",
            last_iep_date=last_iep,
            iep_due_date=iep_due,
            reeval_due_date=reeval_due,
            status="exited" if status == "exited" else "active",
            line=line,
        )

    def decision_maker(self, row: list[str], n: int) -> DecisionMaker | None:
        prefix = f"decision_maker_{n}"
        name = self.cell(row, f"{prefix}_name")
        email = self.email(row, f"{prefix}_email")
        phone = self.cell(row, f"{prefix}_phone")
        if not (name or email or phone):
            return None
        if not name:
            raise _RowError(
                f"{prefix}_name", f"{prefix}_name is empty but an email or phone is given"
            )
        return DecisionMaker(name=name, email=email, phone=phone)


def _email(value: str, column: str) -> str:
    text = value.strip().lower()
    if _EMAIL.match(text):
        return text
    if "," in text:
        raise _RowError(column, f"{value.strip()!r}: separate email addresses with ';'")
    raise _RowError(
        column, f"{value.strip()!r} is not an email address (expected name@example.org)"
    )
