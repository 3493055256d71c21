"""Planning every kind of meeting cycle (SPEC §3.6) through `plan_district`: each placed by the
§3.1 ladder against its own DUE, its milestones dated on the school calendar, its status judged.

Every expected date is counted by hand on the Prairie Valley sample calendar
(config/calendars/usd901-prairie-valley.toml); the comments show the count. Default ladder:
buffer 14 days, window 40 school days, notice TODAY + 14, legal notice TODAY + 10, slots 07:45
and 15:30.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from calendars import at, context, student

from iepsched.core.model import BookedMeeting, MeetingRequest, Student, StudentPlan
from iepsched.core.schedule import plan_district
from iepsched.inputs.calendars import load_calendar

D = dt.date
CALENDARS = Path(__file__).resolve().parents[1] / "config" / "calendars"
PV = load_calendar(CALENDARS / "usd901-prairie-valley.toml")  # 2026-27 and 2027-28


def plan(s: Student, today: dt.date, **kw: Any) -> StudentPlan:
    found = plan_district([s], context(PV), today=today, **kw).get(s.student_id)
    assert found is not None
    return found


def cycle(p: StudentPlan, cycle_type: str) -> StudentPlan:
    found = [c for c in p.cycles if c.cycle_type == cycle_type]
    assert len(found) == 1, [c.cycle_type for c in p.cycles]
    return found[0]


def dates(p: StudentPlan) -> dict[str, dt.date | None]:
    return {m.key: m.date for m in p.milestones}


def amendment(requested_on: dt.date, **kw: Any) -> dict[str, list[MeetingRequest]]:
    return {"S1001": [MeetingRequest("S1001", "amendment", requested_on, "a concern", **kw)]}


# -- eligibility ------------------------------------------------------------------------------


def test_eligibility_clock_across_winter_break_is_planned_latest_first() -> None:
    """An eligibility meeting is due 60 school days after consent, across winter break."""
    # Consent Mon 2026-11-02 -> DUE Tue 2027-02-16 (count in tests/test_cycles.py). latest =
    # cal(DUE, -14) = Tue Feb 2, a school day, free: the meeting. evaluation_plan = school(C, +5):
    # Nov 3, 4, 5, 6, 9 -> Mon Nov 9. evaluation_complete = school(M, -5): Feb 1, Jan 29, 28,
    # 27, 26 -> Tue Jan 26. written_notice = cal(M, -14) = Tue Jan 19 (MLK is Jan 18).
    s = student(due_date=None, initial_consent_date=D(2026, 11, 2))
    p = plan(s, D(2026, 11, 3))
    assert (p.cycle_type, p.cycle_id, p.due_date) == (
        "eligibility",
        "eligibility-2026-11-02",
        D(2027, 2, 16),
    )
    assert p.meeting is not None and p.meeting.start == at(D(2027, 2, 2), "07:45")
    assert p.status == "on_track" and p.others == ()
    got = dates(p)
    assert got["evaluation_plan"] == D(2026, 11, 9)
    assert got["evaluation_complete"] == D(2027, 1, 26)
    assert got["written_notice"] == D(2027, 1, 19)


def test_eligibility_clock_across_summer_ignores_the_first_school_days_rule() -> None:
    """A 60-school-day clock pauses over summer; the eligibility meeting may fall in the new
    year's first weeks (the annual first-20-days rule is not the eligibility clock's)."""
    # Consent Thu 2027-04-01: Apr 2 = 1, Apr 5-9 = 2..6, Apr 12-15 = 7..10 (Apr 16 closed),
    # Apr 19-23 = 11..15, Apr 26-30 = 16..20, May 3-7 = 21..25, May 10-14 = 26..30,
    # May 17-21 = 31..35 (last day); summer; Aug 12-13 = 36..37, Aug 16-20 = 38..42,
    # Aug 23-27 = 43..47, Aug 30-Sep 3 = 48..52, (Labor Day Sep 6), Sep 7-10 = 53..56,
    # Sep 13, 14, 15 = 57..59, Thu Sep 16 = 60. latest = cal(Sep 16, -14) = Thu Sep 2.
    # evaluation_complete = school(Sep 2, -5): Sep 1, Aug 31, 30, 27, 26 -> Thu Aug 26.
    s = student(due_date=None, initial_consent_date=D(2027, 4, 1))
    p = plan(s, D(2027, 4, 2))
    assert p.due_date == D(2027, 9, 16)
    assert p.meeting is not None and p.meeting.date == D(2027, 9, 2)
    assert p.meeting.rung == "on_track"
    assert dates(p)["evaluation_complete"] == D(2027, 8, 26)
    assert dates(p)["evaluation_plan"] == D(2027, 4, 8)  # Apr 2, 5, 6, 7, 8


def test_eligibility_due_in_an_unloaded_year_is_unplanned_and_names_it() -> None:
    """A DUE the calendar cannot count (year not loaded) is unplanned with the year named."""
    # Consent Mon 2028-04-03: the 2027-28 year ends Fri May 19; the count runs into 2028-29.
    s = student(due_date=None, initial_consent_date=D(2028, 4, 3))
    p = plan(s, D(2028, 4, 3))
    assert p.cycle_type == "eligibility" and p.status == "unplanned" and p.meeting is None
    assert any("2028-29" in w and w.startswith("Eligibility meeting:") for w in p.warning_texts)


# -- initial IEP ------------------------------------------------------------------------------


def test_initial_iep_within_thirty_days_prep_not_before_eligibility() -> None:
    """An initial IEP is due E + 30 days; a prep date before E moves to the first school day
    on or after E."""
    # E = Mon 2026-10-05 -> DUE Wed Nov 4. latest = cal(Nov 4, -14) = Wed Oct 21; floor =
    # TODAY + 14 = Mon Oct 19: Oct 21 is free. begin_development = months(M, -1) = Mon Sep 21
    # and parent_contact_1 = cal(M, -21) = Wed Sep 30 are before E: Mon Oct 5.
    # written_notice = cal(M, -14) = Wed Oct 7. collect_present_levels = school(M, -5):
    # Oct 20, 19, (fall break 15-16), 14, 13, 12 -> Mon Oct 12.
    s = student(due_date=None, eligibility_date=D(2026, 10, 5))
    p = plan(s, D(2026, 10, 5))
    assert (p.cycle_type, p.cycle_id, p.due_date) == (
        "initial_iep",
        "initial_iep-2026-10-05",
        D(2026, 11, 4),
    )
    assert p.meeting is not None and p.meeting.date == D(2026, 10, 21)
    got = dates(p)
    assert got["begin_development"] == D(2026, 10, 5)
    assert got["parent_contact_1"] == D(2026, 10, 5)
    assert got["written_notice"] == D(2026, 10, 7)
    assert got["collect_present_levels"] == D(2026, 10, 12)
    assert p.status == "on_track"


def test_held_eligibility_meeting_opens_the_initial_iep() -> None:
    """A held eligibility meeting closes its cycle and starts the initial IEP (E = held day)."""
    s = student(due_date=None, initial_consent_date=D(2026, 9, 1))
    held = {"S1001/eligibility-2026-09-01": D(2026, 10, 5)}
    p = plan(s, D(2026, 10, 6), cycles_held=held)
    assert [c.cycle_type for c in p.cycles] == ["initial_iep"]
    assert p.due_date == D(2026, 11, 4)


def test_held_initial_iep_opens_the_first_annual_cycle() -> None:
    """A held initial IEP starts the annual cycle (DUE = M + 1 year - 1 day) before the roster
    carries its date."""
    # Initial IEP held Wed 2026-10-21 -> first annual DUE Wed 2027-10-20, cycle id its date.
    s = student(due_date=None, eligibility_date=D(2026, 10, 5))
    held = {"S1001/initial_iep-2026-10-05": D(2026, 10, 21)}
    p = plan(s, D(2026, 10, 22), cycles_held=held)
    assert [(c.cycle_type, c.cycle_id) for c in p.cycles] == [("annual", "2027-10-20")]
    assert p.due_date == D(2027, 10, 20)


# -- amendments -------------------------------------------------------------------------------


def test_amendment_meeting_is_placed_earliest_first_beside_the_annual() -> None:
    """An amendment request opens a cycle placed as early as notice allows, beside the annual
    cycle, which stays the student's plan."""
    # Request Mon 2026-10-05, TODAY the same day: earliest = TODAY + 10 = Thu Oct 15 (fall
    # break Oct 15-16) -> Mon Oct 19. DUE = Nov 4; latest = Oct 21, so Oct 19 is on track.
    # send_amendment_draft = cal(M, -2) = Sat Oct 17 -> back over fall break -> Wed Oct 14.
    # written_notice = cal(M, -14) = Mon Oct 5 (the request day itself).
    s = student(due_date=D(2027, 5, 1), last_iep_date=D(2026, 5, 2))
    p = plan(s, D(2026, 10, 5), requests=amendment(D(2026, 10, 5)))
    assert p.cycle_type == "annual"
    a = cycle(p, "amendment")
    assert (a.cycle_id, a.due_date) == ("amendment-2026-10-05", D(2026, 11, 4))
    assert a.meeting is not None and a.meeting.start == at(D(2026, 10, 19), "07:45")
    assert dates(a)["send_amendment_draft"] == D(2026, 10, 14)
    assert dates(a)["written_notice"] == D(2026, 10, 5)
    assert a.own_status == "on_track"


def test_amendment_with_notice_waived_meets_two_school_days_out() -> None:
    """--notice-waived: the amendment meeting may be TODAY + 2 school days."""
    # TODAY Wed 2026-10-14; Oct 15-16 closed: Mon Oct 19 = 1, Tue Oct 20 = 2.
    s = student(due_date=D(2027, 5, 1), last_iep_date=D(2026, 5, 2))
    reqs = amendment(D(2026, 10, 14), notice_waived=True)
    a = cycle(plan(s, D(2026, 10, 14), requests=reqs), "amendment")
    assert a.meeting is not None and a.meeting.date == D(2026, 10, 20)
    assert a.due_date == D(2026, 11, 13)


def test_amendment_without_meeting_is_tasks_only() -> None:
    """--without-meeting: three tasks due around request + 14 days, and no meeting."""
    # Request Mon 2026-11-23: send_amendment_document = school(REQ, +2): Nov 24, (Thanksgiving
    # 25-27), Mon Nov 30. amendment_signed = prev(DUE = Dec 7) = Mon Dec 7. distribute_iep =
    # school(DUE, +10): Dec 8-11, Dec 14-18, (winter break, Jan 4 work day) Tue Jan 5.
    s = student(due_date=D(2027, 5, 1), last_iep_date=D(2026, 5, 2))
    reqs = amendment(D(2026, 11, 23), without_meeting=True)
    a = cycle(plan(s, D(2026, 11, 23), requests=reqs), "amendment")
    assert a.meeting is None
    assert dates(a) == {
        "send_amendment_document": D(2026, 11, 30),
        "amendment_signed": D(2026, 12, 7),
        "distribute_iep": D(2027, 1, 5),
    }
    assert a.own_status == "on_track"


def test_unsigned_written_amendment_past_due_is_overdue_and_says_so() -> None:
    """A written amendment not signed by its DUE makes the student overdue, with a warning."""
    s = student(due_date=D(2027, 5, 1), last_iep_date=D(2026, 5, 2))
    reqs = amendment(D(2026, 11, 23), without_meeting=True)
    p = plan(s, D(2026, 12, 9), requests=reqs)
    a = cycle(p, "amendment")
    assert a.own_status == "overdue" and p.status == "overdue"
    assert p.own_status != "overdue"
    assert any("written amendment was due 2026-12-07" in w for w in a.warning_texts)


# -- reevaluation -----------------------------------------------------------------------------


def test_reevaluation_in_the_window_is_held_at_the_annual_meeting() -> None:
    """Annual meeting in [school(R, -40), R]: one meeting; the annual plan keeps the tasks."""
    # DUE Wed 2027-03-10: latest = cal(DUE, -14) = Wed Feb 24, the annual meeting.
    # R = Tue Mar 30; school(R, -40): Mar 29 = 1, Mar 26-22 = 2..6, (spring break), Mar 12-8 =
    # 7..11, Mar 5-1 = 12..16, Feb 26-22 = 17..21, Feb 19-16 = 22..25 (Feb 15 closed),
    # Feb 12-8 = 26..30, Feb 5-1 = 31..35, Jan 29-25 = 36..40 -> Mon Jan 25 <= Feb 24: combined.
    # reeval_consent = school(R, -65): Jan 22-19 = 41..44 (MLK), Jan 15-11 = 45..49,
    # Jan 8-5 = 50..53 (Jan 4 closed, winter break), Dec 18-14 = 54..58, Dec 11-7 = 59..63,
    # Dec 4 = 64, Thu Dec 3 = 65.
    s = student(due_date=D(2027, 3, 10), reeval_due_date=D(2027, 3, 30))
    p = plan(s, D(2026, 11, 2))
    assert p.meeting is not None and p.meeting.date == D(2027, 2, 24)
    r = cycle(p, "reevaluation")
    assert r.combined_with == "annual" and r.meeting == p.meeting
    assert dates(p)["reeval_consent"] == D(2026, 12, 3)
    assert dates(p)["reeval_due"] == D(2027, 3, 30)
    assert r.cycle_id == "R2027-03-30"


def test_reevaluation_outside_the_window_has_its_own_meeting() -> None:
    """Annual meeting after R: the reevaluation is its own cycle with its own meeting and tasks."""
    # Annual DUE Sat 2027-05-01: latest = cal(DUE, -14) = Sat Apr 17 -> Apr 16 closed -> Thu
    # Apr 15, after R = Mon 2027-02-08: not combined. The reevaluation: latest = cal(R, -14) =
    # Mon Jan 25, free. reeval_due = prev(R) = Mon Feb 8.
    s = student(due_date=D(2027, 5, 1), reeval_due_date=D(2027, 2, 8))
    p = plan(s, D(2026, 11, 2))
    assert p.meeting is not None and p.meeting.date == D(2027, 4, 15)
    assert "reeval_due" not in dates(p)
    r = cycle(p, "reevaluation")
    assert r.combined_with is None and r.cycle_id == "R2027-02-08"
    assert r.meeting is not None and r.meeting.start == at(D(2027, 1, 25), "07:45")
    assert dates(r)["reeval_due"] == D(2027, 2, 8)
    assert "meeting" in dates(r)


# -- transfer ---------------------------------------------------------------------------------


def test_transfer_in_state_and_out_of_state() -> None:
    """A transfer student's IEP is due T + 30 days; out of state adds the evaluation decision."""
    # T = Tue 2026-09-08 -> DUE Thu Oct 8; latest = cal(DUE, -14) = Thu Sep 24; floor = TODAY
    # + 14 = Tue Sep 22: Sep 24 is free. request_records = school(T, +1) = Wed Sep 9.
    # decide_evaluation = school(T, +10): Sep 9-11 = 1..3, Sep 14-18 = 4..8, Sep 21 = 9,
    # Tue Sep 22 = 10.
    base: dict[str, Any] = {"last_iep_date": D(2026, 3, 2), "due_date": D(2027, 3, 1)}
    for kind in ("in_state", "out_of_state"):
        s = student(transfer_in_date=D(2026, 9, 8), transfer_type=kind, **base)
        p = plan(s, D(2026, 9, 8))
        t = cycle(p, "transfer")
        assert (t.cycle_id, t.due_date) == ("transfer-2026-09-08", D(2026, 10, 8))
        assert t.meeting is not None and t.meeting.date == D(2026, 9, 24)
        got = dates(t)
        assert got["request_records"] == got["comparable_services"] == D(2026, 9, 9)
        assert got.get("decide_evaluation") == (D(2026, 9, 22) if kind == "out_of_state" else None)


def test_cycles_share_one_occupancy() -> None:
    """Two students' cycles of different types never take the same person's slot."""
    # Both eligibility meetings want Tue Feb 2 07:45 (same CM and LEA): the second, by student
    # id, gets the 15:30 slot; max_per_day = 2 would push a third to the day before.
    a = student("S1001", due_date=None, initial_consent_date=D(2026, 11, 2))
    b = student("S1002", due_date=None, initial_consent_date=D(2026, 11, 2))
    found = plan_district([a, b], context(PV), today=D(2026, 11, 3))
    starts = [p.meeting.start for p in found.plans if p.meeting]
    assert starts == [at(D(2027, 2, 2), "07:45"), at(D(2027, 2, 2), "15:30")]


def test_annual_only_student_is_planned_as_before() -> None:
    """A student with only an annual cycle has no other cycles and its own status."""
    p = plan(student(), D(2026, 11, 2))
    assert p.others == () and p.cycle_status is None and p.cycle_type == "annual"


def test_booked_cycle_meeting_holds_its_slot_and_stays_after_due() -> None:
    """A booked eligibility meeting keeps its slot before anyone is placed, and a booked cycle
    meeting after its DUE stays where it is (it was late when booked)."""
    # Both want Tue Feb 2 (latest for DUE Feb 16) at 07:45; S1002's eligibility meeting is
    # booked there, so S1001's annual meeting, placed first by id, takes 15:30.
    a = student("S1001", due_date=D(2027, 2, 16))
    b = student("S1002", due_date=None, initial_consent_date=D(2026, 11, 2))
    booked = BookedMeeting("S1002", at(D(2027, 2, 2), "07:45"), at(D(2027, 2, 2), "08:45"))
    found = plan_district(
        [a, b],
        context(PV),
        today=D(2026, 11, 3),
        cycle_booked={("S1002", "eligibility-2026-11-02"): booked},
    )
    pa, pb = found.get("S1001"), found.get("S1002")
    assert pa is not None and pa.meeting is not None and pb is not None and pb.meeting is not None
    assert (pb.meeting.start, pb.meeting.state) == (at(D(2027, 2, 2), "07:45"), "booked")
    assert pa.meeting.start == at(D(2027, 2, 2), "15:30")
    # Booked after DUE (Feb 17): kept, infeasible, not moved back every night.
    late = BookedMeeting("S1002", at(D(2027, 2, 17), "07:45"), at(D(2027, 2, 17), "08:45"))
    p = plan(b, D(2026, 11, 3), cycle_booked={("S1002", "eligibility-2026-11-02"): late})
    assert p.meeting is not None and p.meeting.date == D(2027, 2, 17)
    assert p.status == "infeasible"
