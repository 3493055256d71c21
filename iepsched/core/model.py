"""Frozen value objects shared by every layer. Standard library only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, get_args

Delivery = Literal["task", "event", "recurring_task"]
MilestoneStatus = Literal["done", "overdue", "due_soon", "upcoming", "unscheduled"]
StudentStatus = Literal["overdue", "infeasible", "unplanned", "at_risk", "on_track"]
# The kinds of meeting cycle (SPEC §3.6).
CycleType = Literal["annual", "eligibility", "initial_iep", "amendment", "reevaluation", "transfer"]
MeetingState = Literal["proposed", "booked", "held"]
Rung = Literal["on_track", "at_risk", "infeasible"]

CONTACT_METHODS: tuple[str, ...] = ("phone", "email", "letter", "in_person", "text", "video")
CONTACT_OUTCOMES: tuple[str, ...] = ("reached", "no_answer", "left_message", "returned")

# Highest first; a student's status is the first that applies (SPEC §3.3).
STUDENT_STATUS_ORDER: tuple[StudentStatus, ...] = (
    "overdue",
    "infeasible",
    "unplanned",
    "at_risk",
    "on_track",
)


@dataclass(frozen=True, slots=True)
class DecisionMaker:
    """A legal education decision maker (parent, guardian, or the adult student)."""

    name: str
    email: str = ""
    phone: str = ""
    address: str = ""  # mailing address for the parents' notice (one line)


@dataclass(frozen=True, slots=True)
class Student:
    """One roster row, validated. Emails are stored lower-cased."""

    student_id: str
    first_name: str
    last_name: str
    birth_date: dt.date
    building: str
    case_manager_email: str
    lea_email: str
    due_date: dt.date | None  # None: on the initial track, no IEP yet (SPEC §2.2)
    grade: str = ""
    gen_ed_emails: tuple[str, ...] = ()
    provider_emails: tuple[str, ...] = ()
    decision_makers: tuple[DecisionMaker, ...] = ()
    student_email: str = ""
    last_iep_date: dt.date | None = None
    iep_due_date: dt.date | None = None
    reeval_due_date: dt.date | None = None
    status: Literal["active", "exited"] = "active"
    case_manager_name: str = ""  # shown instead of the email where a person reads it
    home_language: Literal["en", "es"] = "en"  # the language of the parents' notice (SPEC §3.7)
    # The initial track (SPEC §3.6): consent to evaluate received, eligibility determined.
    initial_consent_date: dt.date | None = None
    eligibility_date: dt.date | None = None
    # Enrolled from another district (SPEC §3.6); both are given or neither.
    transfer_in_date: dt.date | None = None
    transfer_type: Literal["in_state", "out_of_state"] | None = None
    has_bip: bool = False  # a behavior intervention plan to monitor
    line: int = 0  # line of the roster file the row came from (0 when built in code)

    @property
    def initials(self) -> str:
        """First letters of first and last name, e.g. "J.D."; what calendar items may show."""
        first = self.first_name.strip()[:1].upper()
        last = self.last_name.strip()[:1].upper()
        return f"{first}.{last}." if first and last else (first or last)

    @property
    def case_manager_label(self) -> str:
        """How caseload views and notices name the case manager: the name, else the email."""
        return self.case_manager_name or self.case_manager_email

    @property
    def required_emails(self) -> tuple[str, ...]:
        """Everyone whose calendar must be free for the meeting: CM, LEA, gen-ed teachers."""
        seen: dict[str, None] = {}
        for email in (self.case_manager_email, self.lea_email, *self.gen_ed_emails):
            if email:
                seen.setdefault(email.lower(), None)
        return tuple(seen)


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
class ClosedDays:
    """A closure: a single date (start == end) or an inclusive range."""

    start: dt.date
    end: dt.date
    label: str = ""


@dataclass(frozen=True, slots=True)
class GradingPeriod:
    """A grading period; progress reports go home on `report_date`."""

    name: str
    end: dt.date
    report_date: dt.date


@dataclass(frozen=True, slots=True)
class SchoolYear:
    """One configured school year of a calendar (SPEC §2.3)."""

    name: str
    first_day: dt.date
    last_day: dt.date
    closed: tuple[ClosedDays, ...] = ()
    grading_periods: tuple[GradingPeriod, ...] = ()

    @property
    def covers(self) -> tuple[dt.date, dt.date]:
        """The statutory school year around this one: July 1 .. June 30 (inclusive)."""
        start_year = self.first_day.year if self.first_day.month >= 7 else self.first_day.year - 1
        return dt.date(start_year, 7, 1), dt.date(start_year + 1, 6, 30)


@dataclass(frozen=True, slots=True)
class MeetingSettings:
    """`[meetings]`: local start times tried in order, length, per-case-manager daily cap."""

    slots: tuple[dt.time, ...] = (dt.time(7, 45), dt.time(15, 30))
    duration_minutes: int = 60
    max_per_day: int = 2
    providers_required: bool = False  # providers' meetings block their slots (SPEC §3.1 option)


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open [start, end) span of aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class BookedMeeting:
    """A meeting already delivered (from sync state); the planner keeps it rather than re-proposing.

    `start`/`end` are aware datetimes. `cancelled` events never reach the planner.
    """

    student_id: str
    start: dt.datetime
    end: dt.datetime
    cycle_id: str = ""
    adopted: bool = False  # a person moved it in Outlook: kept even where rules object
    # The due date it was booked against. A meeting that was already late then (infeasible or
    # overdue) stays; one that a later correction of the due date made late is moved. None:
    # unknown, treated as on time then (moved when after DUE).
    due_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Meeting:
    """The meeting of a plan; `date` is the local date of `start`."""

    date: dt.date
    start: dt.datetime
    end: dt.datetime
    state: MeetingState
    rung: Rung


class Occurrence(NamedTuple):
    """One dated occurrence of a recurring milestone (SPEC §3.2, §5), delivered as its own task.

    `number` is its place in the series (1 = M + every_days): part of its item key, so a moved
    meeting updates the occurrence's date instead of replacing its task.
    """

    number: int
    date: dt.date
    status: MilestoneStatus


class Milestone(NamedTuple):
    """One dated step of a student's timeline (SPEC §3.2, §3.5).

    A NamedTuple rather than a frozen dataclass: a district plan builds ~20 per student, and
    frozen-dataclass construction was most of the 10,000-student planning time. Still immutable.
    """

    key: str
    date: dt.date | None
    delivery: Delivery
    status: MilestoneStatus
    title: str
    track: Literal["annual", "reeval"] = "annual"
    kind: Literal["task", "contact", "event", "recurring", "report"] = "task"
    # A recurring milestone's interval in calendar days, from the rules (SPEC §3.2); None for
    # one-off milestones. Outputs read it here and never restate the number.
    every_days: int | None = None
    # A recurring milestone's occurrences, each on a school day (its `date` is the first).
    occurrences: tuple[Occurrence, ...] = ()


# What a plan warning is about. Code decides by the code; people read the sentence.
WarningCode = Literal[
    "unknown_year",  # the meeting cannot be placed: a school year it needs is not loaded
    "milestones_undated",  # some milestones cannot be dated: a school year is not loaded
    "reports_undated",  # progress reports in a school year that is not loaded are not planned
    "moved_by_person",  # a person moved the meeting in Outlook to a day the rules would not pick
    "booked_day_closed",  # the booked day is now closed: the meeting is being moved
    "booked_after_due",  # the booked day is after a corrected DUE: the meeting is being moved
    "overdue",  # DUE has passed with no meeting held
    "infeasible",  # no slot on or before DUE
    "unplanned",  # the meeting could not be placed for another reason
    "at_risk",  # less than the buffer before DUE, or short notice
    "milestone_overdue",  # a step before the meeting is late
    "unknown_building",  # the roster's building is not in [calendar.buildings]
    "double_booked",  # an optional attendee (a provider) is invited to overlapping meetings
    "free_busy_unknown",  # Graph could not give a required attendee's free/busy (not "free")
]


@dataclass(frozen=True, slots=True)
class PlanWarning:
    """One warning on a student's plan: a code for code to act on, a sentence for people."""

    code: WarningCode
    text: str

    def __str__(self) -> str:
        """The sentence, so logs, f-strings and HTML escaping show what people read."""
        return self.text


@dataclass(frozen=True, slots=True)
class Contact:
    """A logged parent contact (SPEC §3.4). Append-only: never edited once stored."""

    student_id: str
    at: dt.datetime
    method: str
    with_whom: str
    outcome: str
    note: str = ""
    source: str = "cli"


@dataclass(frozen=True, slots=True)
class ContactRequirement:
    """Whether "two contacts by two different methods by parent_contact_2's date" is met."""

    met: bool
    deadline: dt.date | None
    qualifying: tuple[Contact, ...] = ()
    counted: tuple[Contact, ...] = ()  # this cycle's contacts on or before the deadline


@dataclass(frozen=True, slots=True)
class HeldCycle:
    """The annual cycle before the current one, whose meeting was held: its recurring
    milestones (progress monitoring) run until its NEXT_DUE and are still delivered occurrence by
    occurrence after the roster has moved on to the next due date (SPEC §5)."""

    cycle_id: str
    due_date: dt.date
    meeting_date: dt.date
    milestones: tuple[Milestone, ...] = ()


@dataclass(frozen=True, slots=True)
class StudentPlan:
    """A student's whole timeline as `plan` shows it and `sync` delivers it."""

    student: Student
    today: dt.date
    due_date: dt.date
    next_due_date: dt.date | None
    status: StudentStatus
    meeting: Meeting | None
    milestones: tuple[Milestone, ...]
    warnings: tuple[PlanWarning, ...] = ()
    cycle_id: str = ""
    reeval_cycle_id: str = ""
    contacts: ContactRequirement | None = None
    held_cycle: HeldCycle | None = None
    # Every kind of meeting (SPEC §3.6). A student's plan is the plan of one cycle: the annual
    # one, or the nearest when there is none; `others` holds the student's other open cycles,
    # each planned the same way (their own DUE, meeting, milestones, warnings and cycle_id). On
    # the student's plan `status` is the worst over all its cycles and `cycle_status` this
    # cycle's own; a plan in `others` has no `others`. A reevaluation held at the annual meeting
    # is in `others` with `combined_with="annual"`: it shows the shared meeting and delivers
    # nothing of its own (the annual plan carries its tasks).
    cycle_type: CycleType = "annual"
    cycle_status: StudentStatus | None = None
    others: tuple[StudentPlan, ...] = ()
    combined_with: CycleType | None = None
    # False when the cycle's DUE is not known (the 60-school-day clock reaches a school year not
    # loaded): `due_date` then holds the day the cycle started, for ordering only, and every view
    # shows the due date as unknown (SPEC §3: never a guess); an `unknown_year` warning names it.
    due_known: bool = True

    @property
    def student_id(self) -> str:
        return self.student.student_id

    @property
    def cycles(self) -> tuple[StudentPlan, ...]:
        """This plan and the student's other open cycles, in the order `plan` lists them."""
        return (self, *self.others)

    @property
    def own_status(self) -> StudentStatus:
        """This cycle's status alone (`status` may be the worst of the student's cycles)."""
        return self.cycle_status or self.status

    @property
    def warning_texts(self) -> tuple[str, ...]:
        """The warnings' sentences, as every output shows them (SPEC §4)."""
        return tuple(w.text for w in self.warnings)

    def has_warning(self, code: WarningCode) -> bool:
        """Whether any warning carries this code."""
        return any(w.code == code for w in self.warnings)

    def milestone(self, key: str) -> Milestone | None:
        """The milestone with this key, or None when it does not apply."""
        for m in self.milestones:
            if m.key == key:
                return m
        return None

    def next_milestone(self) -> Milestone | None:
        """The earliest dated milestone that is not done and not before today."""
        for m in self.milestones:
            if m.date is not None and m.status != "done" and m.date >= self.today:
                return m
        return None


@dataclass(frozen=True, slots=True)
class DistrictPlan:
    """Every student's plan, in placement order, plus district-wide warnings."""

    today: dt.date
    plans: tuple[StudentPlan, ...]
    warnings: tuple[str, ...] = ()
    by_id: dict[str, StudentPlan] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update((p.student_id, p) for p in self.plans)

    def get(self, student_id: str) -> StudentPlan | None:
        return self.by_id.get(student_id)


# What the state records about delivered items: every producer is checked against these, and
# the state file's values are validated into them when read (`ITEM_KINDS` etc. list the values).
ItemKind = Literal["event", "task", "recurring_task", "calendar_item"]
ItemStatus = Literal["pending", "live", "completed", "removed_by_person", "cancelled", "deleted"]
Op = Literal["create", "update", "cancel", "delete"]  # a write, and the intent noted before it
Track = Literal["annual", "reeval"]
ITEM_KINDS: tuple[ItemKind, ...] = get_args(ItemKind)
ITEM_STATUSES: tuple[ItemStatus, ...] = get_args(ItemStatus)
OPS: tuple[Op, ...] = get_args(Op)
TRACKS: tuple[Track, ...] = get_args(Track)


def row_id(key: str, moving_from: str | None) -> str:
    """The state's id for a row: the item's key, or for the copy of an item left in a former
    case manager's mailbox (`moving_from`), one of its own. An id only: nothing reads it back."""
    return key if moving_from is None else f"{key} @ {moving_from}"


@dataclass(frozen=True, slots=True)
class ItemState:
    """What the state knows about one delivered (or in-flight) item.

    `moving_from` is set (to the row's mailbox) on the copy of an item left in a former case
    manager's mailbox when the student changed hands: that row is only ever being removed, while
    the item's own row (same key, `moving_from` None) follows it to the new mailbox.
    """

    key: str
    student_id: str
    cycle_id: str
    milestone: str
    kind: ItemKind
    mailbox: str
    state: ItemStatus
    remote_id: str | None = None
    list_id: str | None = None
    change_key: str | None = None
    hash: str | None = None
    field_hashes: Mapping[str, str] = field(default_factory=dict)
    intent: Op | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    completed_on: dt.date | None = None
    moved: bool = False
    moving_from: str | None = None

    @property
    def row_id(self) -> str:
        """This row's id among the state's rows (see `row_id`)."""
        return row_id(self.key, self.moving_from)


@dataclass(frozen=True, slots=True)
class Cycle:
    """A student's annual (or reevaluation) cycle: stable through due-date corrections."""

    student_id: str
    track: Track
    cycle_id: str
    due_date: dt.date
    held_on: dt.date | None = None


# Legal logs beyond contacts (SPEC §3.3, §3.6): append-only, journaled like the contact log.
MEETING_REQUEST_TYPES: tuple[str, ...] = ("amendment",)
REQUESTERS: tuple[str, ...] = ("parent", "teacher", "case_manager", "lea", "student", "other")


@dataclass(frozen=True, slots=True)
class Delay:
    """Why a student's meeting is (or was) held after its due date (SPEC §3.3). Append-only.

    `entry_id` is the legal-log journal's content id: stable through a lost or restored state
    file, unlike a row number, so it is what a confirmation and a listing show.
    """

    student_id: str
    logged_on: dt.date
    reason: str
    meeting_date: dt.date | None = None
    entry_id: str = ""


@dataclass(frozen=True, slots=True)
class MeetingRequest:
    """A request for a meeting outside the annual cycle, e.g. an amendment (SPEC §3.6).

    Append-only. `by` is the date asked for (`--by`); without it the due date follows from the
    request date (see `core.requests.request_due`).
    """

    student_id: str
    type: str
    requested_on: dt.date
    reason: str
    by: dt.date | None = None
    notice_waived: bool = False
    without_meeting: bool = False
    requested_by: str | None = None
    entry_id: str = ""
