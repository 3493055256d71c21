"""Recurring milestones (SPEC §3.2, §3.3, §5): school-day occurrences, one dated task each inside
the booking horizon, per-occurrence status; and the conditioned milestones rights_transfer_notice
and bip_monitoring. Dates are hand-worked on the sample calendar (config/calendars/usd901-*.toml)
and on the test calendar of tests/calendars.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from calendars import D, at, context, kansas, student

from iepsched.core.bookings import state_inputs
from iepsched.core.items import DeliveryOptions, desired_items
from iepsched.core.model import BookedMeeting, Cycle, ItemState, Occurrence, Student, StudentPlan
from iepsched.core.reconcile import Scope, is_move, reconcile
from iepsched.core.rules import DEFAULT_RULES, Rules, rules_from_toml
from iepsched.core.schedule import plan_district
from iepsched.inputs.config import load_config
from iepsched.outputs.render import plan_json
from iepsched.service.district import District, load_district

CONFIG = Path(__file__).resolve().parent.parent / "config" / "iepsched.toml"
TODAY = D(2026, 11, 30)
S1009_M = D(2027, 1, 11)  # S1009's meeting on TODAY (proposed; booked in these tests)


@cache
def sample() -> District:
    return load_district(load_config(CONFIG))


def s1009() -> Student:
    return next(s for s in sample().students if s.student_id == "S1009")


def book(sid: str, day: dt.date, hhmm: str = "07:45") -> BookedMeeting:
    start = at(day, hhmm)
    return BookedMeeting(sid, start, start + dt.timedelta(hours=1), "c1")


def plan_s1009(
    today: dt.date = TODAY,
    *,
    rules: Rules | None = None,
    meeting: dt.date = S1009_M,
    done: frozenset[str] = frozenset(),
) -> StudentPlan:
    ctx = sample().ctx if rules is None else dataclasses.replace(sample().ctx, rules=rules)
    (plan,) = plan_district(
        [s1009()],
        ctx,
        today=today,
        booked={"S1009": book("S1009", meeting)},
        done={"S1009": done},
        cycle_ids={"S1009": "c1"},
    ).plans
    return plan


def occurrences(plan: StudentPlan, key: str = "progress_monitoring") -> list[tuple[int, dt.date]]:
    m = plan.milestone(key)
    assert m is not None
    return [(o.number, o.date) for o in m.occurrences]


def weekly() -> Rules:
    rules, problems = rules_from_toml(
        {"milestones": {"progress_monitoring": {"every_days": 7}}}, "rules.toml"
    )
    assert problems == []
    return rules


# -- occurrences on school days (SPEC §3.2) ------------------------------------------------------


def test_s1009_occurrences_are_m_plus_14n_moved_to_the_next_school_day() -> None:
    """S1009 (M = 2027-01-11, NEXT_DUE = 2028-01-10): every 14 days, summer, Labor Day and the
    winter break moved to the next school day, the summer ones joined into one."""
    plan = plan_s1009()
    assert plan.next_due_date == D(2028, 1, 10)
    assert occurrences(plan) == [
        (1, D(2027, 1, 25)),
        (2, D(2027, 2, 8)),
        (3, D(2027, 2, 22)),
        (4, D(2027, 3, 8)),
        (5, D(2027, 3, 22)),  # the Monday after spring break (Mar 15-19)
        (6, D(2027, 4, 5)),
        (7, D(2027, 4, 19)),
        (8, D(2027, 5, 3)),
        (9, D(2027, 5, 17)),
        # 10-15 (May 31 .. Aug 9) are summer: all move to the first day of 2027-28, one task.
        (10, D(2027, 8, 12)),
        (16, D(2027, 8, 23)),
        (17, D(2027, 9, 7)),  # Sep 6 is Labor Day
        (18, D(2027, 9, 20)),
        (19, D(2027, 10, 4)),
        (20, D(2027, 10, 18)),
        (21, D(2027, 11, 1)),
        (22, D(2027, 11, 15)),
        (23, D(2027, 11, 29)),
        (24, D(2027, 12, 13)),
        (25, D(2028, 1, 4)),  # Dec 27 is winter break, Jan 3 a teacher work day
        (26, D(2028, 1, 10)),  # NEXT_DUE itself still counts
    ]
    m = plan.milestone("progress_monitoring")
    assert m is not None and m.date == D(2027, 1, 25)  # the milestone's date is the first


def test_weekly_interval_starts_at_m_plus_7_and_joins_a_break() -> None:
    """every_days = 7: first M + 7 (MLK Day -> Jan 19), then weekly; spring break's two
    occurrences become one on the Monday after it."""
    plan = plan_s1009(rules=weekly())
    assert occurrences(plan)[:11] == [
        (1, D(2027, 1, 19)),  # Jan 18 is Martin Luther King Jr. Day
        (2, D(2027, 1, 25)),
        (3, D(2027, 2, 1)),
        (4, D(2027, 2, 8)),
        (5, D(2027, 2, 16)),  # Feb 15 is Presidents Day
        (6, D(2027, 2, 22)),
        (7, D(2027, 3, 1)),
        (8, D(2027, 3, 8)),
        (9, D(2027, 3, 22)),  # Mar 15 is spring break; #10 (Mar 22) is the same day
        (11, D(2027, 3, 29)),
        (12, D(2027, 4, 5)),
    ]


def test_an_explicit_rule_keeps_its_first_date_when_the_interval_changes() -> None:
    """A rules file that sets both rule and every_days keeps its rule: only the interval moves."""
    rules, problems = rules_from_toml(
        {"milestones": {"progress_monitoring": {"every_days": 7, "rule": "days(M, 14)"}}}, "r"
    )
    assert problems == []
    assert occurrences(plan_s1009(rules=rules))[:2] == [(1, D(2027, 1, 25)), (2, D(2027, 2, 1))]


def test_occurrences_in_an_unloaded_year_are_left_out_with_a_warning() -> None:
    """With only 2026-27 loaded, occurrences stop at its last school day and a warning names
    2027-28; the loaded ones are exactly those of the full calendar."""
    only_first = plan_district(
        [student()],
        context(kansas("2026-27")),
        today=D(2026, 9, 1),
        booked={"S1001": book("S1001", D(2027, 1, 6))},
    ).plans[0]
    full = plan_district(
        [student()],
        context(kansas()),
        today=D(2026, 9, 1),
        booked={"S1001": book("S1001", D(2027, 1, 6))},
    ).plans[0]
    first_year = occurrences(only_first)
    assert first_year and all(day <= D(2027, 6, 30) for _, day in first_year)
    assert first_year == [(n, d) for n, d in occurrences(full) if d <= D(2027, 6, 30)]
    assert len(occurrences(full)) > len(first_year)
    assert (
        "Load the 2027-28 school calendar (USD 500): the progress_monitoring occurrences in that "
        "year are not planned until it is."
    ) in only_first.warning_texts


# -- statuses (SPEC §3.3) --------------------------------------------------------------------


def test_each_occurrence_has_its_own_status_and_the_json_keeps_the_first_date() -> None:
    """On 2027-03-01 with #2 completed: #1 and #3 are overdue, #2 done, #4 (Mar 8) due soon; the
    milestone is judged by its next open occurrence and keeps its first date in the JSON."""
    plan = plan_s1009(D(2027, 3, 1), done=frozenset({"progress_monitoring/2"}))
    m = plan.milestone("progress_monitoring")
    assert m is not None
    assert m.occurrences[:5] == (
        Occurrence(1, D(2027, 1, 25), "overdue"),
        Occurrence(2, D(2027, 2, 8), "done"),
        Occurrence(3, D(2027, 2, 22), "overdue"),
        Occurrence(4, D(2027, 3, 8), "due_soon"),
        Occurrence(5, D(2027, 3, 22), "upcoming"),
    )
    assert m.status == "due_soon"
    (row,) = [r for r in plan_json(plan)["milestones"] if r["key"] == "progress_monitoring"]
    assert (row["date"], row["delivery"], row["status"]) == (
        "2027-01-25",
        "recurring_task",
        "due_soon",
    )


def test_completed_occurrences_do_not_complete_the_milestone() -> None:
    """One completed occurrence is not the whole series: the others stay open."""
    plan = plan_s1009(D(2027, 2, 1), done=frozenset({"progress_monitoring/1"}))
    m = plan.milestone("progress_monitoring")
    assert m is not None and m.status != "done"
    assert [o.status for o in m.occurrences[:2]] == ["done", "due_soon"]


# -- delivery (SPEC §5) ----------------------------------------------------------------------


def options(**kw: Any) -> DeliveryOptions:
    return dataclasses.replace(sample().delivery_options(), **kw)


def monitoring_items(plan: StudentPlan, **kw: Any) -> dict[str, Any]:
    return {
        i.key: i
        for i in desired_items([plan], options(**kw))
        if i.milestone.startswith("progress_monitoring")
    }


def test_tasks_are_the_occurrences_inside_the_horizon_rolling_forward() -> None:
    """On TODAY only #1 (Jan 25 <= TODAY + 60) is delivered; a month later #2 and #3 join it with
    the same key and payload for #1; no task carries a To Do recurrence."""
    first = monitoring_items(plan_s1009())
    assert {k: i.due for k, i in first.items()} == {
        "S1009/c1/progress_monitoring/1": D(2027, 1, 25)
    }
    later = monitoring_items(plan_s1009(D(2026, 12, 31)))
    assert {k: i.due for k, i in later.items()} == {
        "S1009/c1/progress_monitoring/1": D(2027, 1, 25),
        "S1009/c1/progress_monitoring/2": D(2027, 2, 8),
        "S1009/c1/progress_monitoring/3": D(2027, 2, 22),
    }
    key = "S1009/c1/progress_monitoring/1"
    assert later[key].hash == first[key].hash
    for i in (*first.values(), *later.values()):
        assert i.kind == "task" and "recurrence" not in i.fields and "recurrence" not in str(i)


def test_past_open_occurrences_stay_wanted() -> None:
    """Rolling forward keeps every past occurrence in the plan's items (so reconcile never
    deletes an open one): on 2027-05-01 all of #1..#9 are wanted, #1 overdue."""
    items = monitoring_items(plan_s1009(D(2027, 5, 1)))
    assert sorted(int(k.rsplit("/", 1)[1]) for k in items) == list(range(1, 10))


def test_a_moved_meeting_moves_the_occurrences_under_the_same_keys() -> None:
    """A meeting moved two days later updates each occurrence's date; the keys stay."""
    before = monitoring_items(plan_s1009(D(2027, 1, 1)))
    after = monitoring_items(plan_s1009(D(2027, 1, 1), meeting=D(2027, 1, 13)))
    assert set(before) == set(after)
    assert {k: i.due for k, i in after.items()} == {
        "S1009/c1/progress_monitoring/1": D(2027, 1, 27),
        "S1009/c1/progress_monitoring/2": D(2027, 2, 10),
        "S1009/c1/progress_monitoring/3": D(2027, 2, 24),
    }


def test_calendar_mode_delivers_one_all_day_item_per_occurrence() -> None:
    """With tasks = "calendar" each occurrence is its own all-day item on its school day."""
    items = monitoring_items(plan_s1009(D(2026, 12, 31)), tasks="calendar")
    assert len(items) == 3
    for i in items.values():
        assert i.kind == "calendar_item" and i.fields["isAllDay"] is True
        assert i.fields["start"]["dateTime"] == f"{i.due.isoformat()}T00:00:00"
        assert "recurrence" not in i.fields


# -- rights_transfer_notice and bip_monitoring (SPEC §3.2) --------------------------------------

M = D(2027, 1, 6)  # NEXT_DUE = 2028-01-05


def plan_born(
    birth: dt.date, rules: Rules = DEFAULT_RULES, s: Student | None = None
) -> StudentPlan:
    s = s or student(birth_date=birth)
    return plan_district(
        [s], context(rules=rules), today=D(2026, 9, 1), booked={s.student_id: book("S1001", M)}
    ).plans[0]


@pytest.mark.parametrize(
    ("birth", "applies"),
    [
        pytest.param(D(2009, 6, 1), True, id="17-at-M"),
        pytest.param(D(2010, 6, 1), True, id="16-at-M-17-by-NEXT_DUE"),
        pytest.param(D(2011, 1, 5), True, id="17-on-NEXT_DUE"),
        pytest.param(D(2011, 1, 6), False, id="17-the-day-after-NEXT_DUE"),
        pytest.param(D(2011, 2, 1), False, id="15-at-M"),
        pytest.param(D(2010, 1, 6), True, id="17-on-M"),
        pytest.param(D(2009, 1, 6), False, id="18-on-M"),
    ],
)
def test_rights_transfer_notice_only_while_under_18_and_17_by_next_due(
    birth: dt.date, applies: bool
) -> None:
    """rights_transfer_notice at cal(M, -14) if age at M < 18 and age at NEXT_DUE >= 17."""
    plan = plan_born(birth)
    m = plan.milestone("rights_transfer_notice")
    assert (m is not None) == applies
    if m is not None:
        assert m.date == plan.milestone("written_notice").date  # type: ignore[union-attr]
        assert (m.delivery, m.kind) == ("task", "task")


def test_rights_transfer_conditions_come_from_the_rules() -> None:
    """A rules file can widen the condition or turn the milestone off."""
    earlier, problems = rules_from_toml(
        {"milestones": {"rights_transfer_notice": {"min_age_at_next_due": 16}}}, "r"
    )
    off, more = rules_from_toml({"milestones": {"rights_transfer_notice": {"enabled": False}}}, "r")
    assert problems == more == []
    assert plan_born(D(2011, 2, 1), earlier).milestone("rights_transfer_notice") is not None
    assert plan_born(D(2009, 6, 1), off).milestone("rights_transfer_notice") is None


def bip_student(sid: str = "S1001", **kw: Any) -> Student:
    """A student whose roster row says they have a behavior intervention plan."""
    return dataclasses.replace(student(sid, **kw), has_bip=True)


def test_bip_monitoring_only_with_a_bip_and_dated_like_progress_monitoring() -> None:
    """bip_monitoring exists only for has_bip students, with progress_monitoring's occurrences."""
    with_bip = plan_born(D(2016, 3, 9), s=bip_student())
    without = plan_born(D(2016, 3, 9))
    assert without.milestone("bip_monitoring") is None
    bip = with_bip.milestone("bip_monitoring")
    assert bip is not None and bip.delivery == "recurring_task"
    assert occurrences(with_bip, "bip_monitoring") == occurrences(with_bip)
    wide = DeliveryOptions("America/Chicago", booking_horizon_days=200)  # up to 2027-03-20
    keys = {i.milestone for i in desired_items([with_bip], wide)}
    assert {"bip_monitoring/1", "progress_monitoring/1"} <= keys


def test_students_sharing_a_meeting_day_do_not_share_conditioned_milestones() -> None:
    """Two students with the same M, building and age bracket at M, one 17 by NEXT_DUE and one
    not, one with a BIP and one without, each get their own milestones in one run."""
    older = bip_student("S1", birth_date=D(2010, 12, 1))  # 16 at M, 17 by NEXT_DUE, BIP
    younger = student("S2", birth_date=D(2011, 1, 6))  # 15 at M, 16 at NEXT_DUE
    plans = plan_district(
        [older, younger],
        context(),
        today=D(2026, 9, 1),
        booked={"S1": book("S1", M), "S2": book("S2", M, "15:30")},
    ).by_id
    assert plans["S1"].milestone("rights_transfer_notice") is not None
    assert plans["S1"].milestone("bip_monitoring") is not None
    assert plans["S2"].milestone("rights_transfer_notice") is None
    assert plans["S2"].milestone("bip_monitoring") is None


def test_rules_validate_the_new_conditions() -> None:
    """if_student names a known roster flag; ages are whole numbers."""
    _, problems = rules_from_toml(
        {"milestones": {"bip_monitoring": {"if_student": "has_iep", "max_age": -1}}}, "r"
    )
    assert [(p.where, p.message) for p in problems] == [
        ("r [milestones.bip_monitoring] if_student", "invalid value 'has_iep' (one of: has_bip)"),
        ("r [milestones.bip_monitoring] max_age", "invalid value -1"),
    ]


# -- the held cycle's monitoring (SPEC §5) ----------------------------------------------------


def test_state_names_the_held_cycle_before_the_current_one_with_its_completed_steps() -> None:
    """When the roster carries the next due date, the cycle whose meeting was held (in this run
    or an earlier one) is handed to the plan with what was completed in it."""
    tz = dt.timezone(dt.timedelta(hours=-6))
    s = student("S1", due_date=D(2028, 1, 5))
    old = Cycle("S1", "annual", "2027-01-20", D(2027, 1, 20))
    start = dt.datetime.combine(D(2027, 1, 6), dt.time(15, 30), tzinfo=tz)
    rows = [
        ItemState("S1/2027-01-20/meeting", "S1", "2027-01-20", "meeting", "event", "cm", "live",
                  start=start, end=start + dt.timedelta(hours=1)),
        ItemState("S1/2027-01-20/progress_monitoring/1", "S1", "2027-01-20",
                  "progress_monitoring/1", "task", "cm", "completed"),
        ItemState("S1/2027-01-20/progress_monitoring/2", "S1", "2027-01-20",
                  "progress_monitoring/2", "task", "cm", "live"),
    ]  # fmt: skip
    got = state_inputs(
        [s], {r.key: r for r in rows}, {("S1", "annual"): [old]}, [], today=D(2027, 3, 1), tz=tz
    )
    assert got.cycle_ids == {"S1": "2028-01-05"}
    assert got.held_cycles == {
        "S1": (
            dataclasses.replace(old, held_on=D(2027, 1, 6)),
            frozenset({"progress_monitoring/1"}),
        )
    }
    # The next night the closed cycle is a saved row of its own, held_on stored.
    saved = {("S1", "annual"): [c for c in got.cycle_rows if c.track == "annual"]}
    again = state_inputs([s], {r.key: r for r in rows}, saved, [], today=D(2027, 3, 2), tz=tz)
    assert again.held_cycles == got.held_cycles


def test_the_held_cycles_occurrences_are_planned_until_its_own_next_due() -> None:
    """The plan of the next cycle carries the held cycle's occurrences (M = 2027-01-06) with
    their statuses, and none once that cycle's NEXT_DUE (2028-01-05) has passed."""
    s = student("S1", due_date=D(2028, 1, 5))
    old = Cycle("S1", "annual", "2027-01-20", D(2027, 1, 20), held_on=D(2027, 1, 6))
    done = frozenset({"progress_monitoring/1"})

    def planned(today: dt.date) -> StudentPlan:
        return plan_district([s], context(), today=today, held_cycles={"S1": (old, done)}).plans[0]

    held = planned(D(2027, 3, 1)).held_cycle
    full = plan_born(student().birth_date)
    assert held is not None and held.cycle_id == "2027-01-20"
    (m,) = held.milestones
    assert m.key == "progress_monitoring"
    assert [(o.number, o.date) for o in m.occurrences] == occurrences(full)
    assert m.occurrences[0].status == "done" and m.occurrences[1].status == "overdue"
    assert planned(D(2028, 1, 6)).held_cycle is None


# -- upgrading from To Do recurrences -----------------------------------------------------------


def test_an_old_recurring_task_is_replaced_not_counted_as_a_loss() -> None:
    """A progress-monitoring task delivered with a To Do recurrence (older iepsched) is deleted
    as replaced by its occurrences, which the safety limit does not count; an exited student's
    is a removal like any other."""
    plan = plan_s1009()
    wanted = desired_items([plan], options())
    old = ItemState(
        "S1009/c1/progress_monitoring", "S1009", "c1", "progress_monitoring",
        "recurring_task", plan.student.case_manager_email, "live", remote_id="t1", list_id="l1",
    )  # fmt: skip
    state = {old.key: old}
    now = dt.datetime(2026, 11, 30, 2, tzinfo=dt.UTC)

    def actions(**scope: frozenset[str]) -> list[Any]:
        base = {"active": frozenset({"S1009"}), "exited": frozenset(), "protected": frozenset()}
        base.update(scope)
        return reconcile(
            wanted, state, Scope(**base, current_cycles=frozenset({"S1009/c1"})), now=now
        )

    def removal(**scope: frozenset[str]) -> Any:
        (found,) = [a for a in actions(**scope) if a.key == old.key]
        return found

    replaced = removal()
    assert (replaced.op, replaced.reason, is_move(replaced)) == (
        "delete",
        "replaced by one task per occurrence",
        True,
    )
    exited = removal(active=frozenset(), exited=frozenset({"S1009"}))
    assert (exited.op, is_move(exited)) == ("delete", False)
    created = {a.key for a in actions() if a.op == "create"}
    assert "S1009/c1/progress_monitoring/1" in created
