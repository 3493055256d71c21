"""Load a district (config, roster, calendars, rules) once, and plan it with what the state knows.

`plan`, `sync`, `export` and `report` all plan through `plan_with_state`, so every command shows
the answer sync would book: the same cycles, booked meetings, completed items and contacts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.errors import Problem, UserError
from ..core.model import DistrictPlan, Interval, Student
from ..core.rules import Rules
from ..core.schedule import PlanContext, plan_district
from ..core.settings import Config
from ..inputs.calendars import CalendarSet, load_calendars
from ..inputs.config import check_rooms, display_path, load_rules_checked
from ..inputs.roster import RosterResult, read_roster

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # the state adapter (sqlite3) is only loaded when a state file exists
    from ..core.bookings import StateInputs
    from ..core.items import DeliveryOptions
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
    # Why they are not planned (errors naming building, students and roster lines).
    unplannable_problems: tuple[Problem, ...] = ()
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
        if found is not None and found.student_id in self.unplannable:
            try:
                self.calendars.calendar_for(found)
            except UserError as exc:
                where = f"{display_path(self.config.roster.path)} line {found.line}"
                raise UserError(
                    Problem(where, f"{found.student_id} is not planned: {exc.problems[0].message}")
                ) from None
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
            installation=c.district.installation,
        )


def load_district(config: Config) -> District:
    """Read the roster, calendars and rules; raise UserError only for what stops all planning."""
    rules, rule_warnings = load_rules_checked(config)
    calendars = load_calendars(config)
    roster = read_roster(config.roster.path, config.roster.columns)
    building_problems = calendars.check_buildings(roster.students)
    # Judged once per building spelling, not once per student.
    spellings = {s.building: s for s in roster.students}
    no_calendar = {b for b, s in spellings.items() if _has_no_calendar(calendars, s)}
    unplannable = frozenset(s.student_id for s in roster.students if s.building in no_calendar)
    notes = {
        b: note for b in spellings if b not in no_calendar and (note := calendars.unlisted_note(b))
    }
    ctx = PlanContext(
        calendar_for=calendars.calendar_for,
        rules=rules,
        meetings=config.meetings,
        tz=config.district.tz,
        rooms=config.rooms,  # a BuildingMap: names match regardless of case and spacing
        building_notes=notes,
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
        unplannable_problems=tuple(p for p in building_problems if p.severity == "error"),
        by_id={s.student_id: s for s in roster.students},
    )


def _has_no_calendar(calendars: CalendarSet, student: Student) -> bool:
    try:
        calendars.calendar_for(student)
    except UserError:
        return True
    return False


def plan_with_state(
    district: District,
    *,
    today: dt.date,
    store: StateStore | None = None,
    sentences: bool = True,
) -> DistrictPlan:
    """The district plan as sync would book it (read-only: nothing is written).

    Students whose building has no calendar are not in it: each reason is logged as a warning,
    so no student leaves `plan --all`, `export` or `report` without a word on stderr.
    `sentences`: False for a view that shows no student's warnings (`core.schedule.plan_district`).
    """
    for problem in district.unplannable_problems:
        log.warning("%s", problem)
    students = district.students
    if store is None:
        return plan_district(students, district.ctx, today=today, sentences=sentences)
    # Only with a state file: reading it needs the reconciler's vocabulary (items, remote).
    from ..core.bookings import state_inputs

    inputs = state_inputs(
        students,
        store.items(),
        store.cycles(),
        store.contacts(),
        today=today,
        tz=district.ctx.tz,
        requests=store.meeting_requests(),
    )
    return plan_inputs(district, inputs, today=today, sentences=sentences)


def plan_inputs(
    district: District,
    inputs: StateInputs,
    *,
    today: dt.date,
    busy: Mapping[str, Sequence[Interval]] | None = None,
    sentences: bool = True,
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
        held_cycles=inputs.held_cycles,
        requests=inputs.requests,
        cycle_booked=inputs.cycle_booked,
        cycle_done=inputs.cycle_done,
        cycles_held=inputs.cycles_held,
        sentences=sentences,
    )
