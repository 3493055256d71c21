"""Read the roster CSV (SPEC §2.2) into validated `Student`s, reporting bad rows precisely.

A bad row is skipped and reported with its line and column; the good rows go on to be planned. The
skipped rows are returned too (line, and id where readable), because the sync engine must keep
everything it already delivered for a student whose row could not be read this time (a typo must
not cancel a meeting), and every command must say which students it left out.

The file is read one physical line at a time (`csvlines`): a record never spans lines, so a stray
`"` costs only the line it is on instead of swallowing every row up to the next quote (issue 8). A
quoted field that does not close on its line is reported as such; the next line is read as a row of
its own. Each cell is checked by `rosterfields`; a message quotes at most the one offending field,
cut to 60 characters: the roster holds names, birth dates and parents' phones, and an error message
ends up in logs and terminals.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import Problem, UserError
from ..core.model import SkippedRow, Student
from ..core.schedule import due_date_from
from .config import display_path
from .csvlines import Line, decode, physical_lines
from .rosterfields import (
    CONTROL,
    CONTROL_IN_LINE,
    MAX_FIELD,
    SHOWN,
    Errors,
    FieldReader,
    control_errors,
    home_language,
    parse_date,
    readable_id,
    shown,
    student_id_problem,
    too_long_message,
    yes_no,
)

__all__ = [
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "SHOWN",
    "RosterResult",
    "SkippedRow",
    "parse_date",
    "read_roster",
    "shown",
]

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
    "case_manager_name",
    "home_language",
    "decision_maker_1_address",
    "decision_maker_2_address",
    "initial_consent_date",
    "eligibility_date",
    "transfer_in_date",
    "transfer_type",
    "has_bip",
)
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_POSITION = {name: i for i, name in enumerate(COLUMNS)}  # also the order of a row's messages


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

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity != "error")

    @property
    def active(self) -> tuple[Student, ...]:
        return tuple(s for s in self.students if s.status == "active")


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
    text, encoding = decode(raw, where_file, problems)
    lines = physical_lines(text)
    header_at = next((n for n, line in enumerate(lines) if not Line(line).blank), None)
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
    # Lines hold no line break, so a file without any other control character needs no check
    # per row (one C-level pass instead of 10,000, issue 10.7).
    parser.clean = CONTROL_IN_LINE.search(text) is None
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
        text_line = lines[number]
        if '"' in text_line:
            split = Line(text_line)
            if split.blank:
                continue  # blank rows (or rows of bare commas) are padding, not students
            fields, unreadable, open_at = split.fields, split.unreadable, split.open_at
        else:
            # Nearly every line: what `Line` gives a line without quotes, without building one
            # (10,000 rows, issue 10.7). Blank: nothing but commas and spaces.
            if not text_line.replace(",", "").strip():
                continue
            fields, unreadable, open_at = text_line.split(","), False, None
        sid: str | None = None
        if unreadable:
            report(line, -2, None, too_long_message("a field"))  # over csv's 128 KiB limit
        elif open_at is not None:
            report(
                line,
                -2,
                column_at(open_at)[0],
                "a double quote opens this field but does not close on this line; a field "
                "may not hold a line break. Remove the stray quote or close it",
            )
            if id_at < open_at:  # fields before the open quote were read as written
                sid = readable_id(fields[id_at])
        elif len(fields) != width:
            report(
                line,
                -2,
                None,
                f"has {len(fields)} fields but the header has {width}; put a value that holds a "
                "comma in double quotes, and keep empty cells as empty fields",
            )
            if id_at == 0:  # the first field stays first however the rest is misaligned
                sid = readable_id(fields[0])
        else:
            long = []
            if max(map(len, fields)) > MAX_FIELD:  # one C-level pass for the usual clean row
                long = [i for i, cell in enumerate(fields) if len(cell) > MAX_FIELD]
            for i in long:
                column, place = column_at(i)
                report(line, place, column, too_long_message(column, len(fields[i])))
            parsed = parser.parse(fields, line) if not long else []
            if isinstance(parsed, Student):
                good.append(parsed)
                sid = parsed.student_id  # checked by parse: what readable_id would give
            else:
                sid = readable_id(fields[id_at])
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


def _read_header(line: str, where: str) -> list[str]:
    split = Line(line)
    if split.unreadable:
        raise UserError(Problem(where, too_long_message("a field of the header row")))
    if split.open_at is not None:
        raise UserError(
            Problem(
                where,
                "the header row has a double quote that does not close on its line; "
                "remove the stray quote",
            )
        )
    return split.fields


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


class _RowParser(FieldReader):
    """Turns one CSV row into a Student, or into every (column, message) wrong with it.

    Errors are collected, not raised, so a row reports all its bad cells at once; and the cells
    are picked once per row because this runs for every row of a 10,000-row roster.
    """

    __slots__ = ("_pick", "_spacing", "clean")

    def __init__(self, index: dict[str, int], today: dt.date | None) -> None:
        super().__init__(today)
        # Columns the file lacks read the empty cell `parse` appends to every row (index -1).
        self._pick = operator.itemgetter(*(index.get(name, -1) for name in COLUMNS))
        self._spacing: dict[str, str] = {}  # buildings and names repeat on most rows
        self.clean = False  # True: the file was seen to hold no control character at all

    def _spaced(self, text: str) -> str:
        """`text` with its runs of spaces made single (as a person would type it)."""
        found = self._spacing.get(text)
        if found is None:
            found = self._spacing[text] = " ".join(text.split())
        return found

    def parse(self, row: list[str], line: int) -> Student | Errors:
        """`row` has exactly the header's number of fields."""
        raw: tuple[str, ...] = self._pick([*row, ""])
        # Before trimming: str.strip() would silently drop a trailing \x0b or \x1c.
        if not self.clean and CONTROL.search("".join(raw)):
            return control_errors(COLUMNS, raw)
        errors: Errors = []
        cells = list(map(str.strip, raw))
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
            cm_name,
            language_text,
            dm1_address,
            dm2_address,
            consent_text,
            eligibility_text,
            transfer_text,
            transfer_type_text,
            bip_text,
        ) = cells
        if (problem := student_id_problem(student_id)) is not None:
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
        # An empty optional cell is no value and no error: most cells of a row are empty, so
        # they are not handed to the checks at all (10,000 rows, issue 10.7).
        gen_ed = self.emails(gen_ed_text, "gen_ed_emails", errors) if gen_ed_text else ()
        providers = self.emails(providers_text, "provider_emails", errors) if providers_text else ()
        dm1 = (dm1_name, dm1_email, dm1_phone, dm1_address)
        dm2 = (dm2_name, dm2_email, dm2_phone, dm2_address)
        decision_makers = tuple(
            dm
            for dm in (
                self.decision_maker(1, dm1, errors) if any(dm1) else None,
                self.decision_maker(2, dm2, errors) if any(dm2) else None,
            )
            if dm is not None
        )
        student_email = (
            self.email(student_email_text, "student_email", errors) if student_email_text else ""
        )
        last_iep = self.iep_date(last_iep_text, "last_iep_date", errors) if last_iep_text else None
        iep_due = self.iep_date(iep_due_text, "iep_due_date", errors) if iep_due_text else None
        reeval_due = self.iep_date(reeval_text, "reeval_due_date", errors) if reeval_text else None
        if last_iep is not None and iep_due is not None:
            self.near(iep_due, "iep_due_date", last_iep, "last_iep_date", errors)
        consent = eligibility = None
        if consent_text:
            consent = self.iep_date(consent_text, "initial_consent_date", errors, what="date")
        if eligibility_text:
            eligibility = self.iep_date(eligibility_text, "eligibility_date", errors, what="date")
        transfer_in, transfer_type = (
            self.transfer(transfer_text, transfer_type_text, errors)
            if transfer_text or transfer_type_text
            else (None, None)
        )
        due = due_date_from(last_iep, iep_due)
        initial_track = consent is not None or eligibility is not None
        if due is None and not (last_iep_text or iep_due_text) and not initial_track:
            # SPEC §2.2: consent to evaluate or an eligibility date alone starts the initial
            # track (no IEP yet, so no annual due date); any other row needs one of the two.
            message = "neither last_iep_date nor iep_due_date is given; one of them is required"
            errors.append(("iep_due_date", message))
        if reeval_due is not None and due is not None:
            self.near(reeval_due, "reeval_due_date", due, "the IEP due date", errors)
        status = status_text.casefold() or "active"
        if status not in ("active", "exited"):
            errors.append(("status", f"{shown(status_text)} is not a status; use active or exited"))
        language = home_language(language_text, errors) if language_text else "en"
        has_bip = yes_no(bip_text, "has_bip", errors) if bip_text else False
        if birth_date is not None:
            self.check_birth(birth_date, due, errors)
        if errors or birth_date is None or (due is None and not initial_track):
            return errors
        return Student(
            student_id=student_id,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            building=self._spaced(building),
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
            case_manager_name=self._spaced(cm_name),
            home_language=language,
            initial_consent_date=consent,
            eligibility_date=eligibility,
            transfer_in_date=transfer_in,
            transfer_type=transfer_type,
            has_bip=has_bip,
            line=line,
        )
