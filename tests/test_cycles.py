"""Meeting cycles (SPEC §3.6): which are open, their DUEs, milestone dates and keys.

Every expected date is counted by hand on the sample calendars in config/calendars; the comments
show the count so a reader can check it against the TOML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from calendars import student
from hypothesis import given, settings
from hypothesis import strategies as st

from iepsched.core.cyclerules import parse_cycle_rule
from iepsched.core.cycles import (
    CycleSpec,
    CycleType,
    combines,
    cycle_id,
    cycle_key,
    date_cycle,
    open_cycles,
)
from iepsched.core.model import MeetingRequest, Student
from iepsched.core.rules import rules_from_toml
from iepsched.core.schoolcal import SchoolCalendar, UnknownDate
from iepsched.inputs.calendars import load_calendar

D = dt.date
CALENDARS = Path(__file__).resolve().parents[1] / "config" / "calendars"
PV = load_calendar(CALENDARS / "usd901-prairie-valley.toml")  # 2026-27 and 2027-28
BS = load_calendar(CALENDARS / "usd902-bluestem.toml")  # 2026-27 and 2027-28


def amend(requested_on: dt.date, **kw: Any) -> MeetingRequest:
    """An amendment request as the request log holds it."""
    return MeetingRequest("S4001", "amendment", requested_on, "a concern", **kw)


def initial(sid: str = "S2001", **kw: object) -> Student:
    """A student on the initial track: no IEP yet (no last_iep_date nor iep_due_date)."""
    return student(sid, **kw)


def only(specs: list[CycleSpec], cycle_type: CycleType) -> CycleSpec:
    found = [c for c in specs if c.type == cycle_type]
    assert len(found) == 1, [c.key for c in specs]
    return found[0]


def dates(
    spec: CycleSpec, meeting: dt.date | None, cal: SchoolCalendar
) -> dict[str, dt.date | None]:
    return {s.key: s.date for s in date_cycle(spec, meeting_date=meeting, calendar=cal)}


# -- eligibility: 60 school days from consent ------------------------------------------------


def test_eligibility_clock_pauses_over_thanksgiving_and_winter_break() -> None:
    """The 60-school-day evaluation clock skips breaks and closed days (K.A.R. 91-40-8(f))."""
    # Prairie Valley, consent Mon 2026-11-02 (C itself never counts):
    #   Nov 3-6 = 1..4, Nov 9-13 = 5..9, Nov 16-20 = 10..14, Nov 23-24 = 15..16
    #   (Thanksgiving Nov 25-27), Nov 30 = 17, Dec 1-4 = 18..21, Dec 7-11 = 22..26,
    #   Dec 14-18 = 27..31, (winter break Dec 21 - Jan 1, teacher work day Mon Jan 4),
    #   Jan 5-8 = 32..35, Jan 11-15 = 36..40, (MLK Jan 18), Jan 19-22 = 41..44,
    #   Jan 25-29 = 45..49, Feb 1-5 = 50..54, Feb 8-12 = 55..59, (Presidents Day Feb 15),
    #   Tue Feb 16 = 60.
    s = initial(initial_consent_date=D(2026, 11, 2))
    spec = only(open_cycles(s, today=D(2026, 11, 3), calendar=PV), "eligibility")
    assert spec.due == D(2027, 2, 16)
    assert spec.anchor == D(2026, 11, 2)
    assert spec.needs_year is None
    assert spec.has_meeting


def test_eligibility_clock_on_bluestem_skips_veterans_day_and_its_longer_winter_break() -> None:
    """Each building's own calendar drives the clock: Bluestem closes more days."""
    # Bluestem, consent Tue 2026-11-10; Veterans Day Wed Nov 11 closed:
    #   Nov 12-13 = 1..2, Nov 16-20 = 3..7, Nov 23-24 = 8..9, (Thanksgiving Nov 25-27),
    #   Nov 30 - Dec 4 = 10..14, Dec 7-11 = 15..19, Dec 14-18 = 20..24,
    #   (winter break Dec 21 - Mon Jan 4), Jan 5-8 = 25..28, Jan 11-15 = 29..33, (MLK Jan 18),
    #   Jan 19-22 = 34..37, Jan 25-29 = 38..42, Feb 1-5 = 43..47, Feb 8-11 = 48..51
    #   (PD day Fri Feb 12, Presidents Day Feb 15), Feb 16-19 = 52..55, Feb 22-26 = 56..60.
    s = initial(initial_consent_date=D(2026, 11, 10))
    spec = only(open_cycles(s, today=D(2026, 11, 10), calendar=BS), "eligibility")
    assert spec.due == D(2027, 2, 26)


@settings(max_examples=60)
@given(st.dates(min_value=D(2026, 7, 1), max_value=D(2028, 6, 30)))
def test_eligibility_due_is_the_sixtieth_school_day_after_consent(consent: dt.date) -> None:
    """Any consent date: DUE is a school day with exactly 60 school days in (C, DUE], or unknown
    with the next school year named."""
    s = initial(initial_consent_date=consent)
    spec = only(open_cycles(s, today=consent, calendar=PV), "eligibility")
    if spec.due is None:
        assert spec.needs_year == "2028-29"
        return
    assert PV.is_school_day(spec.due)
    counted = sum(
        PV.is_school_day(consent + dt.timedelta(days=i))
        for i in range(1, (spec.due - consent).days + 1)
    )
    assert counted == 60


def test_eligibility_clock_pauses_over_summer() -> None:
    """A clock started late in spring resumes in August: summer days never count."""
    # Prairie Valley, consent Mon 2027-04-19:
    #   Apr 20-23 = 1..4, Apr 26-30 = 5..9, May 3-7 = 10..14, May 10-14 = 15..19,
    #   May 17-21 = 20..24 (last day May 21), summer, 2027-28 starts Thu Aug 12:
    #   Aug 12-13 = 25..26, Aug 16-20 = 27..31, Aug 23-27 = 32..36, Aug 30 - Sep 3 = 37..41,
    #   (Labor Day Sep 6), Sep 7-10 = 42..45, Sep 13-17 = 46..50, Sep 20-24 = 51..55,
    #   Sep 27-30 = 56..59, Fri Oct 1 = 60.
    s = initial(initial_consent_date=D(2027, 4, 19))
    spec = only(open_cycles(s, today=D(2027, 4, 20), calendar=PV), "eligibility")
    assert spec.due == D(2027, 10, 1)


def test_eligibility_clock_into_an_unloaded_year_names_the_year_not_a_guess() -> None:
    """A clock that runs past the loaded years gives no DUE and names the year to load."""
    # Bluestem's 2027-28 ends Thu 2028-05-18 with fewer than 60 school days after Apr 17.
    s = initial(initial_consent_date=D(2028, 4, 17))
    spec = only(open_cycles(s, today=D(2028, 4, 18), calendar=BS), "eligibility")
    assert spec.due is None
    assert spec.needs_year == "2028-29"


def test_consent_in_an_unloaded_year_names_that_year() -> None:
    """Consent dated in a year with no calendar names that year, never a guessed DUE."""
    s = initial(initial_consent_date=D(2025, 10, 1))
    spec = only(open_cycles(s, today=D(2025, 10, 2), calendar=PV), "eligibility")
    assert (spec.due, spec.needs_year) == (None, "2025-26")


def test_eligibility_milestones_on_consent_and_meeting() -> None:
    """evaluation_plan is school(C, +5) and evaluation_complete school(M, -5)."""
    # Consent Mon 2026-11-02: Nov 3, 4, 5, 6, 9 -> 5th school day Mon Nov 9.
    # Meeting Tue 2027-02-09: Feb 8, 5, 4, 3, 2 -> 5th school day before is Tue Feb 2.
    s = initial(initial_consent_date=D(2026, 11, 2))
    spec = only(open_cycles(s, today=D(2026, 11, 3), calendar=PV), "eligibility")
    got = dates(spec, D(2027, 2, 9), PV)
    assert got["evaluation_plan"] == D(2026, 11, 9)
    assert got["evaluation_complete"] == D(2027, 2, 2)
    assert got["meeting"] == D(2027, 2, 9)
    # cal(M, -14) = Tue Jan 26; cal(M, -21) = Tue Jan 19 (the day after MLK Day).
    assert got["written_notice"] == D(2027, 1, 26)
    assert got["parent_contact_1"] == D(2027, 1, 19)
    assert {"parent_contact_2", "staff_invite", "submit_paperwork", "distribute_iep"} <= set(got)


def test_eligibility_closes_once_eligibility_is_determined() -> None:
    """An eligibility_date on the roster closes eligibility and opens the initial IEP."""
    s = initial(initial_consent_date=D(2026, 9, 1), eligibility_date=D(2026, 11, 16))
    types = [c.type for c in open_cycles(s, today=D(2026, 11, 17), calendar=PV)]
    assert types == ["initial_iep"]


# -- initial IEP: 30 days from eligibility ---------------------------------------------------


def test_initial_iep_due_thirty_calendar_days_after_eligibility() -> None:
    """The initial IEP meeting is due E + 30 calendar days (34 CFR 300.323(c)(1))."""
    # Thanksgiving break in between does not pause a calendar-day clock: Oct 20 + 30 = Nov 19.
    s = initial(eligibility_date=D(2026, 10, 20))
    spec = only(open_cycles(s, today=D(2026, 10, 21), calendar=PV), "initial_iep")
    assert spec.due == D(2026, 11, 19)
    assert spec.earliest == D(2026, 10, 31)  # TODAY + 10 days
    assert spec.not_before == D(2026, 10, 20)


def test_initial_iep_prep_dates_before_eligibility_move_to_the_first_school_day_after() -> None:
    """A prep step the annual table would date before E is dated the first school day >= E."""
    s = initial(eligibility_date=D(2026, 10, 20))
    spec = only(open_cycles(s, today=D(2026, 10, 21), calendar=PV), "initial_iep")
    got = dates(spec, D(2026, 11, 2), PV)  # meeting Mon Nov 2
    # cal(M, -21) = Mon Oct 12, months(M, -1) = Fri Oct 2, cal(M, -14) = Mon Oct 19: all
    # before E (Tue Oct 20), so all become Tue Oct 20.
    for key in ("parent_contact_1", "begin_development", "written_notice", "parent_contact_2"):
        assert got[key] == D(2026, 10, 20), key
    # Later steps keep their own dates: school(M, -5) = Mon Oct 26 (Oct 30, 29, 28, 27, 26),
    # cal(M, -2) = Sat Oct 31 -> Fri Oct 30, school(M, +10) = Nov 3-6, 9-13, Mon Nov 16.
    assert got["collect_present_levels"] == D(2026, 10, 26)
    assert got["send_draft"] == D(2026, 10, 30)
    assert got["submit_paperwork"] == D(2026, 11, 16)
    assert "reeval_consent" not in got


def test_held_eligibility_meeting_opens_the_initial_iep() -> None:
    """Without an eligibility_date, the held eligibility meeting is E."""
    s = initial(initial_consent_date=D(2026, 9, 1))
    held = {"S2001/eligibility-2026-09-01": D(2026, 11, 10)}
    specs = open_cycles(s, today=D(2026, 11, 11), calendar=PV, held=held)
    assert [c.type for c in specs] == ["initial_iep"]
    assert specs[0].due == D(2026, 12, 10)
    assert specs[0].key == "S2001/initial_iep-2026-11-10"


def test_initial_iep_closes_when_held_or_when_the_roster_carries_the_new_iep() -> None:
    """The initial IEP closes by its held meeting (the first annual cycle opens from it), or by a
    last_iep_date on or after E."""
    s = initial(eligibility_date=D(2026, 10, 20))
    held = {"S2001/initial_iep-2026-10-20": D(2026, 11, 12)}
    specs = open_cycles(s, today=D(2026, 11, 13), calendar=PV, held=held)
    # Until the roster carries it, the held meeting is the last IEP date: next DUE 2027-11-11.
    assert [(c.type, c.key, c.due) for c in specs] == [
        ("annual", "S2001/2027-11-11", D(2027, 11, 11))
    ]
    written = initial(eligibility_date=D(2026, 10, 20), last_iep_date=D(2026, 11, 12))
    assert [c.type for c in open_cycles(written, today=D(2026, 11, 13), calendar=PV)] == ["annual"]


def test_a_student_on_the_initial_track_has_no_annual_cycle_yet() -> None:
    """No IEP date and an initial-track date: only the initial cycles are open."""
    s = initial(initial_consent_date=D(2026, 11, 2))
    assert [c.type for c in open_cycles(s, today=D(2026, 11, 3), calendar=PV)] == ["eligibility"]


# -- transfer ---------------------------------------------------------------------------------


def test_transfer_in_state_milestones() -> None:
    """In state: request_records and comparable_services next school day; DUE T + 30 days."""
    # Prairie Valley, T = Tue 2026-10-13; fall break Thu-Fri Oct 15-16; school(T, +1) = Wed Oct 14.
    s = student(
        "S3001",
        last_iep_date=D(2026, 3, 2),
        transfer_in_date=D(2026, 10, 13),
        transfer_type="in_state",
    )
    spec = only(open_cycles(s, today=D(2026, 10, 13), calendar=PV), "transfer")
    assert spec.due == D(2026, 11, 12)
    got = dates(spec, D(2026, 11, 5), PV)
    assert got["request_records"] == D(2026, 10, 14)
    assert got["comparable_services"] == D(2026, 10, 14)
    assert "decide_evaluation" not in got
    assert got["meeting"] == D(2026, 11, 5)


def test_transfer_out_of_state_also_decides_on_an_evaluation() -> None:
    """Out of state adds decide_evaluation at school(T, +10) (34 CFR 300.323(f))."""
    # Bluestem, T = Wed 2026-10-14; fall break Fri Oct 16 - Mon Oct 19:
    #   Thu Oct 15 = 1, Oct 20-23 = 2..5, Oct 26-30 = 6..10 -> Fri Oct 30.
    s = student(
        "S3002",
        last_iep_date=D(2026, 3, 2),
        transfer_in_date=D(2026, 10, 14),
        transfer_type="out_of_state",
    )
    spec = only(open_cycles(s, today=D(2026, 10, 14), calendar=BS), "transfer")
    assert spec.due == D(2026, 11, 13)
    got = dates(spec, D(2026, 11, 10), BS)
    assert got["request_records"] == D(2026, 10, 15)
    assert got["decide_evaluation"] == D(2026, 10, 30)
    # cal(M, -21) = Tue Oct 20 is after T, so it is not moved.
    assert got["parent_contact_1"] == D(2026, 10, 20)


def test_transfer_prep_is_never_dated_before_the_student_arrived() -> None:
    """A meeting soon after T moves contacts that would precede T to the first school day >= T."""
    s = student(
        "S3001",
        last_iep_date=D(2026, 3, 2),
        transfer_in_date=D(2026, 10, 13),
        transfer_type="in_state",
    )
    spec = only(open_cycles(s, today=D(2026, 10, 13), calendar=PV), "transfer")
    got = dates(spec, D(2026, 10, 26), PV)  # cal(M, -21) = Mon Oct 5, before T
    assert got["parent_contact_1"] == D(2026, 10, 13)


def test_transfer_closes_when_a_new_iep_is_on_the_roster() -> None:
    """A last_iep_date on or after T means the receiving district's IEP exists."""
    s = student(
        "S3001",
        last_iep_date=D(2026, 11, 5),
        transfer_in_date=D(2026, 10, 13),
        transfer_type="in_state",
    )
    assert [c.type for c in open_cycles(s, today=D(2026, 11, 6), calendar=PV)] == ["annual"]


# -- amendment --------------------------------------------------------------------------------


def test_amendment_with_meeting_is_due_in_thirty_days_and_placed_earliest_first() -> None:
    """DUE = request + 30 days; the meeting goes as early as TODAY + 10 days."""
    s = student("S4001", last_iep_date=D(2026, 3, 2))
    req = amend(requested_on=D(2026, 10, 5))
    spec = only(open_cycles(s, today=D(2026, 10, 5), calendar=PV, requests=[req]), "amendment")
    assert spec.due == D(2026, 11, 4)
    assert spec.earliest == D(2026, 10, 15)
    assert spec.earliest_first and spec.has_meeting
    # cal(M, -2) for M = Tue Oct 20: Sun Oct 18 -> back over fall break (Oct 15-16) to Wed Oct 14.
    got = dates(spec, D(2026, 10, 20), PV)
    assert got["send_amendment_draft"] == D(2026, 10, 14)
    assert got["written_notice"] == D(2026, 10, 6)  # cal(M, -14) = Tue Oct 6
    # cal(M, -21) = Tue Sep 29 is before the request (Mon Oct 5): moved to the request day.
    assert got["parent_contact_1"] == D(2026, 10, 5)


def test_amendment_by_date_wins() -> None:
    """--by DATE replaces the 30-day default."""
    s = student("S4001", last_iep_date=D(2026, 3, 2))
    req = amend(requested_on=D(2026, 10, 5), by=D(2026, 10, 23))
    spec = only(open_cycles(s, today=D(2026, 10, 5), calendar=PV, requests=[req]), "amendment")
    assert spec.due == D(2026, 10, 23)


def test_amendment_with_notice_waived_may_meet_two_school_days_out() -> None:
    """--notice-waived: earliest = school(TODAY, +2), across the fall break."""
    # Prairie Valley, today Wed 2026-10-14; Oct 15-16 closed: Mon Oct 19 = 1, Tue Oct 20 = 2.
    s = student("S4001", last_iep_date=D(2026, 3, 2))
    req = amend(requested_on=D(2026, 10, 14), notice_waived=True)
    spec = only(open_cycles(s, today=D(2026, 10, 14), calendar=PV, requests=[req]), "amendment")
    assert spec.earliest == D(2026, 10, 20)
    assert spec.due == D(2026, 11, 13)


def test_amendment_without_meeting_is_tasks_only_due_in_fourteen_days() -> None:
    """--without-meeting: DUE = request + 14 days, no event, the three written-amendment tasks."""
    s = student("S4001", last_iep_date=D(2026, 3, 2))
    req = amend(requested_on=D(2026, 11, 23), without_meeting=True)
    spec = only(open_cycles(s, today=D(2026, 11, 23), calendar=PV, requests=[req]), "amendment")
    assert spec.due == D(2026, 12, 7)
    assert not spec.has_meeting and spec.earliest is None
    assert all(m.delivery == "task" for m in spec.milestones)
    got = dates(spec, None, PV)
    # school(REQ, +2): Tue Nov 24 = 1, Thanksgiving Nov 25-27, Mon Nov 30 = 2.
    # prev(DUE) = Mon Dec 7. school(DUE, +10): Dec 8-11 = 1..4, Dec 14-18 = 5..9, winter break,
    # teacher work day Jan 4, Tue 2027-01-05 = 10.
    assert got == {
        "send_amendment_document": D(2026, 11, 30),
        "amendment_signed": D(2026, 12, 7),
        "distribute_iep": D(2027, 1, 5),
    }


def test_held_amendment_closes_and_two_requests_a_day_keep_apart() -> None:
    """Each request is its own cycle with its own key; a held one is closed."""
    s = student("S4001", last_iep_date=D(2026, 3, 2))
    reqs = [
        amend(requested_on=D(2026, 10, 5)),
        amend(requested_on=D(2026, 10, 5), without_meeting=True),
    ]
    specs = open_cycles(s, today=D(2026, 10, 6), calendar=PV, requests=reqs)
    keys = sorted(c.key for c in specs if c.type == "amendment")
    assert keys == ["S4001/amendment-2026-10-05", "S4001/amendment-2026-10-05.2"]
    held = {"S4001/amendment-2026-10-05": D(2026, 10, 20)}
    specs = open_cycles(s, today=D(2026, 10, 21), calendar=PV, requests=reqs, held=held)
    assert [c.key for c in specs if c.type == "amendment"] == ["S4001/amendment-2026-10-05.2"]


def test_notice_waived_into_an_unloaded_year_names_it() -> None:
    """Two school days from the last loaded day reach an unknown year: no earliest, a year."""
    s = student("S4001", last_iep_date=D(2027, 6, 2))
    req = amend(requested_on=D(2028, 5, 18), notice_waived=True)
    spec = only(open_cycles(s, today=D(2028, 5, 18), calendar=PV, requests=[req]), "amendment")
    assert (spec.earliest, spec.needs_year) == (None, "2028-29")


# -- reevaluation -----------------------------------------------------------------------------

# Prairie Valley, R = Wed 2027-03-31. school(R, -40), counting back:
#   Mar 30, 29 = 1..2, Mar 26-22 = 3..7, (spring break Mar 15-19), Mar 12-8 = 8..12,
#   Mar 5-1 = 13..17, Feb 26-22 = 18..22, Feb 19-16 = 23..26, (Presidents Day Feb 15),
#   Feb 12-8 = 27..31, Feb 5-1 = 32..36, Jan 29, 28, 27, 26 = 37..40 -> Tue 2027-01-26.
R = D(2027, 3, 31)
WINDOW_START = D(2027, 1, 26)


@pytest.mark.parametrize(
    ("annual", "expected"),
    [
        (WINDOW_START, True),
        (WINDOW_START - dt.timedelta(days=1), False),
        (R, True),
        (R + dt.timedelta(days=1), False),
        (D(2027, 3, 17), True),  # inside, in spring break: the window is dates, not school days
    ],
)
def test_combines_on_the_window_edges(annual: dt.date, expected: bool) -> None:
    """The annual meeting is the reevaluation meeting exactly in [school(R, -40), R]."""
    assert combines(annual, R, PV) is expected


def test_reevaluation_combined_with_the_annual_meeting_has_no_meeting_of_its_own() -> None:
    """Combined: one event for both purposes; the reevaluation keeps only its §3.5 tasks."""
    s = student("S5001", last_iep_date=D(2026, 3, 2), reeval_due_date=R)
    specs = open_cycles(s, today=D(2027, 1, 4), calendar=PV, annual_meeting=D(2027, 2, 10))
    spec = only(specs, "reevaluation")
    assert spec.combined_with == "annual" and not spec.has_meeting
    assert [m.key for m in spec.milestones] == ["reeval_consent", "reeval_due"]
    # school(R, -65): 40 back is Jan 26; Jan 25 = 41, Jan 22-19 = 42..45, (MLK Jan 18),
    # Jan 15-11 = 46..50, Jan 8-5 = 51..54, (Jan 4, winter break), Dec 18-14 = 55..59,
    # Dec 11-7 = 60..64, Fri 2026-12-04 = 65.
    assert dates(spec, None, PV) == {"reeval_consent": D(2026, 12, 4), "reeval_due": R}
    annual = only(specs, "annual")
    assert "reeval_consent" not in {m.key for m in annual.milestones}


def test_reevaluation_outside_the_window_gets_its_own_meeting() -> None:
    """An annual meeting before school(R, -40) leaves the reevaluation its own meeting by R."""
    s = student("S5001", last_iep_date=D(2026, 3, 2), reeval_due_date=R)
    specs = open_cycles(s, today=D(2027, 1, 4), calendar=PV, annual_meeting=D(2027, 1, 20))
    spec = only(specs, "reevaluation")
    assert spec.combined_with is None and spec.has_meeting
    assert spec.due == R
    keys = {m.key for m in spec.milestones}
    assert {"reeval_consent", "reeval_due", "meeting", "written_notice"} <= keys


def test_held_annual_meeting_in_the_window_closes_the_reevaluation_too() -> None:
    """The joint meeting held closes both cycles."""
    s = student("S5001", last_iep_date=D(2026, 3, 2), reeval_due_date=R)
    held = {"S5001/2027-03-01": D(2027, 2, 10)}
    assert open_cycles(s, today=D(2027, 2, 11), calendar=PV, held=held) == []
    early = {"S5001/2027-03-01": D(2027, 1, 20)}  # before the window: the reevaluation stays
    specs = open_cycles(s, today=D(2027, 1, 21), calendar=PV, held=early)
    assert [c.type for c in specs] == ["reevaluation"]


def test_combines_early_in_the_first_loaded_year_without_the_year_before() -> None:
    """A window that starts before the first loaded year is decided by counting from the
    meeting: a reevaluation due in October is held at an August annual meeting."""
    # R = Fri 2026-10-02; school(R, -40) reaches into 2025-26, which is not loaded. From the
    # meeting Fri Aug 28: Aug 28 = 1, Aug 31-Sep 4 = 2..6, (Labor Day), Sep 8-11 = 7..10,
    # Sep 14-18 = 11..15, Sep 21-25 = 16..20, Sep 28-Oct 1 = 21..24 school days before R.
    assert combines(D(2026, 8, 28), D(2026, 10, 2), PV) is True
    s = student("S5002", last_iep_date=D(2025, 9, 5), reeval_due_date=D(2026, 10, 2))
    specs = open_cycles(s, today=D(2026, 8, 13), calendar=PV, annual_meeting=D(2026, 8, 28))
    spec = only(specs, "reevaluation")
    assert spec.combined_with == "annual" and not spec.has_meeting and spec.needs_year is None


def test_combination_into_an_unloaded_year_names_it() -> None:
    """A window that reaches an unloaded year cannot be decided: own meeting, year named."""
    with pytest.raises(UnknownDate):
        combines(D(2028, 5, 1), D(2028, 9, 15), PV)
    s = student("S5001", last_iep_date=D(2027, 6, 1), reeval_due_date=D(2028, 9, 15))
    specs = open_cycles(s, today=D(2028, 3, 1), calendar=PV, annual_meeting=D(2028, 5, 1))
    spec = only(specs, "reevaluation")
    assert spec.has_meeting and spec.needs_year == "2028-29"


# -- annual, ordering ---------------------------------------------------------------------------


def test_annual_due_from_last_iep_date_and_closed_when_held() -> None:
    """Annual DUE = last_iep_date + 1 year - 1 day; its held meeting closes it."""
    s = student("S6001", last_iep_date=D(2026, 1, 21))
    spec = only(open_cycles(s, today=D(2026, 10, 1), calendar=PV), "annual")
    assert spec.due == D(2027, 1, 20)
    assert spec.key == "S6001/2027-01-20"
    held = {"S6001/2027-01-20": D(2027, 1, 12)}
    assert open_cycles(s, today=D(2027, 1, 13), calendar=PV, held=held) == []


def test_cycles_are_listed_by_due_date() -> None:
    """A student with several open cycles lists them nearest DUE first."""
    s = student(
        "S7001",
        last_iep_date=D(2026, 1, 21),
        reeval_due_date=R,
        transfer_in_date=D(2026, 10, 13),
        transfer_type="in_state",
    )
    req = amend(requested_on=D(2026, 10, 14), without_meeting=True)
    specs = open_cycles(s, today=D(2026, 10, 14), calendar=PV, requests=[req])
    assert [(c.type, c.due) for c in specs] == [
        ("amendment", D(2026, 10, 28)),
        ("transfer", D(2026, 11, 12)),
        ("annual", D(2027, 1, 20)),
        ("reevaluation", R),
    ]


# -- keys ---------------------------------------------------------------------------------------


def test_cycle_keys_are_stable_across_nights() -> None:
    """The same roster and log give the same keys whatever `today` is."""
    s = student(
        "S7001",
        last_iep_date=D(2026, 1, 21),
        reeval_due_date=R,
        transfer_in_date=D(2026, 10, 13),
        transfer_type="in_state",
    )
    reqs = [amend(requested_on=D(2026, 10, 14))]
    night1 = [c.key for c in open_cycles(s, today=D(2026, 10, 14), calendar=PV, requests=reqs)]
    night2 = [c.key for c in open_cycles(s, today=D(2026, 10, 15), calendar=PV, requests=reqs)]
    assert night1 == night2
    assert sorted(night1) == [
        "S7001/2027-01-20",
        "S7001/R2027-03-31",
        "S7001/amendment-2026-10-14",
        "S7001/transfer-2026-10-13",
    ]


def test_cycle_keys_never_collide_across_types_on_one_date() -> None:
    """Every type on the same anchor date gives a different key; annual and reevaluation keep
    the ids the planner already uses."""
    day = D(2026, 9, 14)
    types: tuple[CycleType, ...] = (
        "annual",
        "eligibility",
        "initial_iep",
        "amendment",
        "reevaluation",
        "transfer",
    )
    keys = {cycle_key("S1001", t, day) for t in types}
    assert len(keys) == len(types)
    assert cycle_key("S1001", "eligibility", day) == "S1001/eligibility-2026-09-14"
    assert cycle_id("annual", day) == "2026-09-14"
    assert cycle_id("reevaluation", day) == "R2026-09-14"
    assert cycle_id("amendment", day, 3) == "amendment-2026-09-14.3"
    with pytest.raises(ValueError, match="seq"):
        cycle_id("amendment", day, 0)


def test_cycle_spec_is_frozen() -> None:
    """A CycleSpec is an immutable value."""
    s = student("S6001", last_iep_date=D(2026, 1, 21))
    spec = open_cycles(s, today=D(2026, 10, 1), calendar=PV)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.due = None  # type: ignore[misc]


# -- rules --------------------------------------------------------------------------------------


def test_cycle_rules_parse_the_cycle_anchors_and_refuse_bad_forms() -> None:
    """Cycle rules take C, E, T and REQ as anchors and the limits of the annual rules."""
    assert str(parse_cycle_rule("school(C, +5)")) == "school(C, 5)"
    assert str(parse_cycle_rule("prev(R)")) == "prev(R)"
    for bad in ("school(X, 5)", "prev(T, 1)", "cal(E)", "cal(M, -4000)"):
        with pytest.raises(ValueError):
            parse_cycle_rule(bad)


def test_a_rules_toml_change_to_a_shared_step_reaches_every_cycle() -> None:
    """written_notice moved by the rules TOML moves in the transfer cycle too (rules are data)."""
    rules, problems = rules_from_toml(
        {"milestones": {"written_notice": {"rule": "cal(M, -20)"}}}, "rules.toml"
    )
    assert problems == []
    s = student(
        "S3001",
        last_iep_date=D(2026, 3, 2),
        transfer_in_date=D(2026, 10, 13),
        transfer_type="in_state",
    )
    spec = only(open_cycles(s, today=D(2026, 10, 13), calendar=PV, rules=rules), "transfer")
    # M = Thu Nov 12: cal(M, -20) = Fri Oct 23; the default cal(M, -14) would be Thu Oct 29.
    assert dates(spec, D(2026, 11, 12), PV)["written_notice"] == D(2026, 10, 23)
