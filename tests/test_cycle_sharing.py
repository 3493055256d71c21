"""The planner shares a cycle's dated steps across students (issue 10.7): the shared answer is
exactly the one each student would get alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from calendars import context, student

from iepsched.core.cycleplan import copy_with, plan_cycle
from iepsched.core.cycles import date_cycle, reevaluation_cycle
from iepsched.core.milestones import RunMemo
from iepsched.core.model import Meeting, Student
from iepsched.inputs.calendars import load_calendar

D = dt.date
CALENDARS = Path(__file__).resolve().parents[1] / "config" / "calendars"
PV = load_calendar(CALENDARS / "usd901-prairie-valley.toml")
TODAY = D(2027, 1, 4)
TZ = ZoneInfo("America/Chicago")


def meeting_on(day: dt.date) -> Meeting:
    """A proposed 15:30 meeting on `day`."""
    start = dt.datetime.combine(day, dt.time(15, 30), tzinfo=TZ)
    return Meeting(day, start, start + dt.timedelta(hours=1), "proposed", "on_track")


def separate_reeval(s: Student, day: dt.date, memo: RunMemo) -> tuple[object, ...]:
    """The student's reevaluation (its own meeting on `day`) planned with `memo`."""
    spec = reevaluation_cycle(s, today=TODAY, calendar=PV, annual_meeting=D(2027, 1, 6))
    assert spec is not None and spec.combined_with is None
    plan = plan_cycle(
        s,
        spec,
        context(PV),
        today=TODAY,
        meeting=meeting_on(day),
        warnings=[],
        done=frozenset(),
        contacts=(),
        memo=memo,
    )
    return plan.milestones


def test_shared_reevaluation_steps_equal_each_students_own() -> None:
    """Students meeting the same day with different R and ages get, from one run's memo, the
    milestones each gets alone: the meeting's steps shared, R's and the adult titles their own."""
    day = D(2027, 4, 20)
    young = student("S1", reeval_due_date=D(2027, 5, 3), birth_date=D(2016, 3, 9))
    other_r = student("S2", reeval_due_date=D(2027, 5, 10), birth_date=D(2016, 3, 9))
    adult = student("S3", reeval_due_date=D(2027, 5, 3), birth_date=D(2008, 3, 9))
    shared = RunMemo()
    together = [separate_reeval(s, day, shared) for s in (young, other_r, adult)]
    alone = [separate_reeval(s, day, RunMemo()) for s in (young, other_r, adult)]
    assert together == alone
    by_key = [{m.key: m for m in ms} for ms in together]  # type: ignore[attr-defined]
    assert by_key[0]["meeting"] is by_key[1]["meeting"]  # one meeting-day group for both
    assert by_key[0]["reeval_due"].date != by_key[1]["reeval_due"].date
    assert by_key[0]["written_notice"].title != by_key[2]["written_notice"].title
    spec = reevaluation_cycle(other_r, today=TODAY, calendar=PV, annual_meeting=D(2027, 1, 6))
    assert spec is not None
    steps = {s.key: s.date for s in date_cycle(spec, meeting_date=day, calendar=PV)}
    assert {k: m.date for k, m in by_key[1].items()} == steps


def test_copy_with_is_dataclasses_replace() -> None:
    """The planner's fast copy of a student gives what dataclasses.replace gives."""
    s = student("S1", reeval_due_date=D(2027, 5, 3), provider_emails=("p@x.org",))
    assert copy_with(s, due_date=D(2027, 5, 3)) == dataclasses.replace(s, due_date=D(2027, 5, 3))
    assert copy_with(s, due_date=None, building="B") == dataclasses.replace(
        s, due_date=None, building="B"
    )


def test_copy_with_refuses_a_class_with_fields_outside_init() -> None:
    """A dataclass with an init=False field cannot be copied positionally: refused."""
    with pytest.raises(TypeError, match="init fields only"):
        copy_with(context(PV), rules=context(PV).rules)
