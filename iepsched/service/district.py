"""Load a district (config, roster, calendars, rules) once, and plan it with what the state knows.

`plan`, `sync`, `export` and `report` all plan through `plan_with_state`, so every command shows
the answer sync would book: the same cycles, booked meetings, completed items and contacts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.errors import Problem, UserError
from ..core.model import BookedMeeting, Contact, DistrictPlan, Interval, Student
from ..core.rules import Rules
from ..core.schedule import PlanContext, plan_district
from ..core.settings import Config
from ..inputs.calendars import CalendarSet, load_calendars
from ..inputs.config import check_rooms, display_path, load_rules_checked
from ..inputs.roster import RosterResult, read_roster

if TYPE_CHECKING:  # the state adapter (sqlite3) is only loaded when a state file exists
    from ..core.items import DeliveryOptions
    from ..core.model import Cycle, ItemState
    from ..state.store import StateStore


@dataclass(frozen=True)
class District:
    """Everything loaded for one run; `problems` are non-fatal (bad rows skipped, warnings)."""

    config: Config
    roster: RosterResult
    calendars: CalendarSet
    rules: Rules
    ctx: PlanContext
    problems: tuple[Problem, ...]
    unplannable: frozenset[str] = frozenset()  # ids whose building has no calendar
    by_id: Mapping[str, Student] = field(default_factory=dict)

    @property
    def students(self) -> tuple[Student, ...]:
        """Students that can be planned (active or exited, with a calendar)."""
        return tuple(s for s in self.roster.students if s.student_id not in self.unplannable)

    def student(self, student_id: str) -> Student:
        """A roster student by id (exact, then case-insensitive); UserError naming the roster."""
        found = self.by_id.get(student_id)
        if found is None:
            folded = student_id.casefold()
            found = next((s for k, s in self.by_id.items() if k.casefold() == folded), None)
        if found is None:
            roster = display_path(self.config.roster.path)
            hint = ""
            if student_id in self.roster.skipped_ids:
                hint = " (its row has errors and was skipped: run `iepsched config check`)"
            raise UserError(
                Problem(roster, f"no student with id {student_id!r} in the roster{hint}")
            )
        return found

    def delivery_options(self) -> DeliveryOptions:
        from ..core.items import DeliveryOptions

        c = self.config
        return DeliveryOptions(
            timezone=c.district.timezone,
            tasks=c.delivery.tasks,
            category=c.delivery.category,
            subject_template=c.privacy.subject_template,
            meeting_subject_template=c.privacy.meeting_subject_template,
            reminder_time=c.delivery.reminder_time,
            booking_horizon_days=c.delivery.booking_horizon_days,
            rooms=c.rooms,
        )


def load_district(config: Config) -> District:
    """Read the roster, calendars and rules; raise UserError only for what stops all planning."""
    rules, rule_warnings = load_rules_checked(config)
    calendars = load_calendars(config)
    roster = read_roster(config.roster.path, config.roster.columns)
    building_problems = calendars.check_buildings(roster.students)
    unplannable = frozenset(s.student_id for s in roster.students if _has_no_calendar(calendars, s))
    ctx = PlanContext(
        calendar_for=calendars.calendar_for,
        rules=rules,
        meetings=config.meetings,
        tz=config.district.tz,
        rooms=config.rooms,  # a BuildingMap: names match regardless of case and spacing
    )
    problems = (
        *roster.problems,
        *building_problems,
        *rule_warnings,
        *check_rooms(config, roster.students),
    )
    return District(
        config=config,
        roster=roster,
        calendars=calendars,
        rules=rules,
        ctx=ctx,
        problems=tuple(problems),
        unplannable=unplannable,
        by_id={s.student_id: s for s in roster.students},
    )


def _has_no_calendar(calendars: CalendarSet, student: Student) -> bool:
    try:
        calendars.calendar_for(student)
    except UserError:
        return True
    return False


@dataclass(frozen=True)
class StateInputs:
    """What the state contributes to a plan."""

    booked: dict[str, BookedMeeting]
    done: dict[str, frozenset[str]]
    contacts: dict[str, list[Contact]]
    cycle_ids: dict[str, str]
    reeval_cycle_ids: dict[str, str]
    cycle_rows: list[Cycle]


def state_inputs(
    students: Sequence[Student],
    items: Mapping[str, ItemState],
    cycles: Mapping[tuple[str, str], Sequence[Cycle]],
    contacts: Sequence[Contact],
    *,
    today: dt.date,
    tz: dt.tzinfo,
) -> StateInputs:
    """Booked meetings, completed items, contacts and cycle ids, from the state's rows."""
    from ..core.reconcile import COMPLETED, LIVE, PENDING, assign_cycles

    held: dict[str, dt.date] = {}
    current = {
        sid: track_cycles[-1].cycle_id
        for (sid, track), track_cycles in cycles.items()
        if track == "annual" and track_cycles
    }
    meetings: dict[str, ItemState] = {}
    for st in items.values():
        if (
            st.key.endswith("/meeting")
            and st.state in (LIVE, PENDING)
            and st.start
            and st.end
            and current.get(st.student_id) == st.cycle_id
        ):
            meetings[st.student_id] = st
            if st.start.astimezone(tz).date() < today:
                held[st.student_id] = st.start.astimezone(tz).date()
    # The due date each meeting was booked against: the cycle's, before this run's correction.
    booked_against = {
        sid: track_cycles[-1].due_date
        for (sid, track), track_cycles in cycles.items()
        if track == "annual" and track_cycles
    }
    reeval_done: dict[str, dt.date] = {}
    for (sid, track), track_cycles in cycles.items():
        if track == "reeval" and track_cycles:
            finished = items.get(f"{sid}/{track_cycles[-1].cycle_id}/reeval_due")
            if finished is not None and finished.state == COMPLETED:
                reeval_done[sid] = finished.completed_on or today
    annual, reeval, rows = assign_cycles(students, cycles, held=held, reeval_done=reeval_done)
    booked: dict[str, BookedMeeting] = {}
    for sid, st in meetings.items():
        if annual.get(sid) == st.cycle_id and st.start and st.end:
            booked[sid] = BookedMeeting(
                sid,
                st.start,
                st.end,
                st.cycle_id,
                adopted=st.moved,
                due_date=booked_against.get(sid),
            )
    done: dict[str, set[str]] = {}
    for st in items.values():
        if st.state == COMPLETED and st.cycle_id in (
            annual.get(st.student_id),
            reeval.get(st.student_id),
        ):
            done.setdefault(st.student_id, set()).add(st.key.rsplit("/", 1)[-1])
    by_student: dict[str, list[Contact]] = {}
    for c in contacts:
        by_student.setdefault(c.student_id, []).append(c)
    return StateInputs(
        booked=booked,
        done={sid: frozenset(keys) for sid, keys in done.items()},
        contacts=by_student,
        cycle_ids=annual,
        reeval_cycle_ids=reeval,
        cycle_rows=rows,
    )


def plan_with_state(
    district: District, *, today: dt.date, store: StateStore | None = None
) -> DistrictPlan:
    """The district plan as sync would book it (read-only: nothing is written)."""
    students = district.students
    if store is None:
        return plan_district(students, district.ctx, today=today)
    inputs = state_inputs(
        students,
        store.items(),
        store.cycles(),
        store.contacts(),
        today=today,
        tz=district.ctx.tz,
    )
    return plan_inputs(district, inputs, today=today)


def plan_inputs(
    district: District,
    inputs: StateInputs,
    *,
    today: dt.date,
    busy: Mapping[str, Sequence[Interval]] | None = None,
) -> DistrictPlan:
    """Plan with state inputs already gathered (sync adds what it just observed)."""
    return plan_district(
        district.students,
        district.ctx,
        today=today,
        booked=inputs.booked,
        busy=busy,
        done=inputs.done,
        contacts=inputs.contacts,
        cycle_ids=inputs.cycle_ids,
        reeval_cycle_ids=inputs.reeval_cycle_ids,
    )
