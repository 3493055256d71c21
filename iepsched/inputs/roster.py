"""Read the roster CSV (SPEC §2.2) into validated `Student`s, reporting bad rows precisely.

A bad row is skipped and reported with its line and column; the good rows go on to be planned. The
ids of skipped rows are returned too, because the sync engine must keep everything it already
delivered for a student whose row could not be read this time (a typo must not cancel a meeting).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import Problem, UserError
from ..core.model import DecisionMaker, Student
from ..core.schedule import due_date_from
from .config import EMAIL, display_path

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

_DATE_HELP = "use YYYY-MM-DD or M/D/YYYY"


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
        if "".join(header).strip():
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
    id_at = index["student_id"]
    end_line = reader.line_num
    for row in reader:
        line = end_line + 1
        end_line = reader.line_num
        if not "".join(row).strip():
            continue  # blank rows (or rows of bare commas) are padding, not students
        sid = row[id_at].strip() if id_at < len(row) else ""
        if sid:
            lines_of.setdefault(sid, []).append(line)
        parsed = parser.parse(row, line)
        if isinstance(parsed, Student):
            good.append((line, parsed))
            continue
        bad[line] = sid
        for column, message in parsed:
            where = f"{shown} line {line}, column {column}"
            row_problems.append((line, _POSITION[column], Problem(where, message)))

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
            "is not UTF-8, so it was read as Windows-1252; export the roster as "
            '"CSV UTF-8" to be sure accented names are read correctly',
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
    """Turns one CSV row into a Student, or into every (column, message) wrong with it.

    Errors are collected, not raised, so a row reports all its bad cells at once; and the cells
    are picked once per row because this runs for every row of a 10,000-row roster.
    """

    __slots__ = ("_dates", "_emails", "_lists", "_pick", "_width")

    def __init__(self, index: dict[str, int]) -> None:
        # Columns the file lacks read the empty cell `parse` appends to every row (index -1).
        self._pick = operator.itemgetter(*(index.get(name, -1) for name in COLUMNS))
        self._width = max(index.values()) + 1
        # Valid values seen before: case-manager, LEA and teacher emails and many dates repeat on
        # most rows of a real roster, so each distinct text is validated once.
        self._emails: dict[str, str] = {}
        self._dates: dict[str, dt.date] = {}
        self._lists: dict[str, tuple[str, ...]] = {}

    def parse(self, row: list[str], line: int) -> Student | list[tuple[str, str]]:
        if len(row) < self._width:  # spreadsheets drop trailing empty cells
            row = row + [""] * (self._width - len(row))
        row.append("")
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
        ) = [cell.strip() for cell in self._pick(row)]
        errors: list[tuple[str, str]] = []
        if not (student_id and first_name and last_name and building):
            for column, value in (
                ("student_id", student_id),
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
        last_iep = self.date(last_iep_text, "last_iep_date", errors)
        iep_due = self.date(iep_due_text, "iep_due_date", errors)
        reeval_due = self.date(reeval_text, "reeval_due_date", errors)
        due = due_date_from(last_iep, iep_due)
        if due is None and not (last_iep_text or iep_due_text):
            errors.append(
                (
                    "iep_due_date",
                    "neither last_iep_date nor iep_due_date is given; one of them is required",
                )
            )
        status = status_text.casefold() or "active"
        if status not in ("active", "exited"):
            errors.append(("status", f"{status_text!r} is not a status; use active or exited"))
        if birth_date is not None and due is not None and birth_date >= due:
            errors.append(
                (
                    "birth_date",
                    f"{birth_date.isoformat()} is not before the IEP due date {due.isoformat()}",
                )
            )
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
        if EMAIL.match(email):
            self._emails[text] = email
            return email
        if "," in text:
            errors.append((column, f"{text!r}: separate email addresses with ';'"))
        else:
            errors.append((column, f"{text!r} is not an email address (expected name@example.org)"))
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
