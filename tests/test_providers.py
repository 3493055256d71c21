"""Issue 10.6: providers are optional attendees unless `[meetings] providers_required = true`;
left optional, the plan warns when one is invited to overlapping meetings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from iepsched.core.model import DistrictPlan
from iepsched.core.schedule import PlanContext, plan_district
from iepsched.inputs.calendars import load_calendars
from iepsched.inputs.config import load_config, load_rules
from iepsched.inputs.roster import read_roster

CONFIG = Path(__file__).parent.parent / "config" / "iepsched.toml"
TODAY = dt.date(2026, 11, 30)
SLP = "slp.hartley@pvsec.example.org"


def plan(*, providers_required: bool) -> DistrictPlan:
    config = load_config(CONFIG)
    calendars = load_calendars(config)
    meetings = dataclasses.replace(config.meetings, providers_required=providers_required)
    ctx = PlanContext(
        calendar_for=calendars.calendar_for,
        rules=load_rules(config),
        meetings=meetings,
        tz=config.district.tz,
        rooms=config.rooms,
    )
    roster = read_roster(config.roster.path, config.roster.columns)
    return plan_district(roster.students, ctx, today=TODAY)


def slp_meetings(result: DistrictPlan) -> list[tuple[dt.datetime, dt.datetime, str]]:
    return sorted(
        (p.meeting.start, p.meeting.end, p.student_id)
        for p in result.plans
        if p.meeting is not None and SLP in p.student.provider_emails
    )


def overlapping(meetings: list[tuple[dt.datetime, dt.datetime, str]]) -> set[str]:
    found: set[str] = set()
    for i, (_, end, a) in enumerate(meetings):
        for start, _, b in meetings[i + 1 :]:
            if start < end:
                found |= {a, b}
    return found


def test_optional_providers_overlap_and_each_plan_says_so() -> None:
    """Off (the default): the SLP's three 2026-12-14 07:45 meetings each warn (own code)."""
    result = plan(providers_required=False)
    clash = overlapping(slp_meetings(result))
    assert len(clash) >= 3
    for sid in clash:
        p = result.get(sid)
        assert p is not None
        codes = [w.code for w in p.warnings if SLP in w.text]
        assert codes == ["double_booked"], sid


def test_required_providers_never_overlap() -> None:
    """On: no provider is placed in two overlapping meetings, and no plan warns about it."""
    result = plan(providers_required=True)
    assert overlapping(slp_meetings(result)) == set()
    assert not any(w.code == "double_booked" for p in result.plans for w in p.warnings)
