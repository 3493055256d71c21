"""A short school year against the Graph sandbox (issue 8, "Then prove it for a year").

The harness (`benchmarks/yearsim.py`) drives `iepsched sync` night after night as a subprocess,
acts as case managers through the sandbox's Graph endpoints, spoils roster exports, injects
faults and kills, and checks the invariants after every night. Here: 60 students, 4 case
managers, 20 school nights across the Thanksgiving break. The once-only kinds run in their own
short years, and so do transfers of students whose meeting a person moved; a known-unfixed
kind is marked xfail until its fix lands.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from yearsim import EVENT_KINDS, ONCE, YearOptions, run_year

pytestmark = pytest.mark.slow

FIRST_NIGHT = dt.date(2026, 11, 16)  # 20 school nights from here span Thanksgiving (25-27)
# Kinds proven by their own tests below (the once-only losses; transfers of moved meetings).
OWN_TESTS = frozenset({*ONCE, "transfer_moved"})
WORKING = frozenset(EVENT_KINDS) - OWN_TESTS
# Each working kind that the dice might miss in 20 nights is forced on one night.
SCHEDULE = (
    (1, "snow_day"),
    (2, "truncated_roster"),
    (3, "storm_429"),
    (4, "kill"),
    (5, "unbalanced_quote"),
    (6, "faults_503"),
    (8, "bad_row"),
    (9, "dropped"),
    (11, "cp1252_roster"),
    (12, "kill"),
    (13, "remove"),
)


def short_year(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    options = YearOptions(
        students=60,
        per_case_manager=15,
        seed=2,
        first_night=FIRST_NIGHT,
        max_nights=20,
        rate=2.0,
        check_spec_horizon=False,  # its own test below
    )
    fields = {**options.__dict__, **changes}
    return run_year(tmp_path, YearOptions(**fields))


def problems(report: dict[str, Any]) -> list[dict[str, Any]]:
    return list(report["violations"])


def test_a_short_year_with_the_events_handled_today(tmp_path: Path) -> None:
    """20 nights of roster changes, people's edits, spoiled exports, faults and kills: no
    duplicate, every delivered meeting at its planned time, people's changes kept, nothing
    cancelled by a spoiled export, every completed contact logged."""
    report = short_year(tmp_path, events=WORKING, schedule=SCHEDULE)
    assert problems(report) == []
    assert report["nights"] == 20
    missing = {k for k in WORKING if not report["events"].get(k)}
    assert missing <= {"held"}, f"kinds never exercised: {missing}"  # held needs a past meeting
    assert report["kills"] >= 1
    faults = report["faults_survived"]
    assert faults["429"] and faults["503"] and faults["drop"], faults
    assert report["writes"] > 0


def test_state_file_lost_mid_year(tmp_path: Path) -> None:
    """The state file deleted one night: sync stops (exit 3); `--recover` then brings it back
    with nothing duplicated, people's moves kept, and every contact kept."""
    report = short_year(
        tmp_path,
        events=frozenset({"move_meeting", "complete_contact", "state_lost"}),
        max_nights=8,
        rate=3.0,
        once_at=0.7,
    )
    assert report["events"].get("state_lost") == 1
    assert problems(report) == []


def test_mailbox_wiped_mid_year(tmp_path: Path) -> None:
    """A mailbox's iepsched items all vanish: the run stops (exit 3), nothing recorded as
    deleted by people; `--accept-loss` then brings the district's meetings back."""
    report = short_year(
        tmp_path,
        events=frozenset({"add", "mailbox_wiped"}),
        max_nights=6,
        once_at=0.5,
    )
    assert report["events"].get("mailbox_wiped") == 1
    assert problems(report) == []


def test_transfer_after_a_person_moved_the_meeting(tmp_path: Path) -> None:
    """A student whose meeting a person moved changes case manager: still one meeting."""
    report = short_year(
        tmp_path,
        events=frozenset({"move_meeting", "complete_contact", "delete_task", "transfer_moved"}),
        max_nights=8,
        rate=4.0,
        schedule=((1, "move_meeting"), (3, "transfer_moved")),
    )
    assert report["events"].get("transfer_moved")
    assert problems(report) == []


def test_meetings_are_delivered_within_the_horizon_of_the_meeting(tmp_path: Path) -> None:
    """A proposed meeting within 60 days is in the calendar (SPEC §5), even if DUE is later."""
    report = short_year(tmp_path, events=frozenset(), max_nights=3, check_spec_horizon=True)
    assert problems(report) == []


def test_a_slot_free_busy_shows_taken_is_not_a_horizon_violation(tmp_path: Path) -> None:
    """The year's horizon check excuses a student only when free/busy shows a required person
    busy at `plan`'s slot (sync, which sees free/busy, then rightly placed the meeting later)."""
    from types import SimpleNamespace

    from yearsim import Person, Year

    from iepsched.sandbox import GraphSandbox

    row = {
        "student_id": "Z1",
        "case_manager_email": "cm@pv.example.org",
        "lea_email": "lea@pv.example.org",
        "gen_ed_emails": "t1@pv.example.org;t2@pv.example.org",
        "building": "Building 002",
    }
    with GraphSandbox(seed=1) as sb:
        sb.start(port=0)
        year = Year(tmp_path, YearOptions())
        year.sb = sb
        year.d = SimpleNamespace(rows=[row])  # type: ignore[assignment]

        def busy(mailbox: str, subject: str, start: str, end: str) -> None:
            """An event of someone else's in `mailbox` on 2027-05-14, local times."""
            Person(sb).call(
                "POST",
                f"/users/{mailbox.replace('@', '%40')}/events",
                {
                    "subject": subject,
                    "start": {"dateTime": f"2027-05-14T{start}:00", "timeZone": "America/Chicago"},
                    "end": {"dateTime": f"2027-05-14T{end}:00", "timeZone": "America/Chicago"},
                },
            )

        assert not year.taken_for_sync("Z1", "2027-05-14 07:45")
        busy("t2@pv.example.org", "Someone else's meeting", "07:30", "08:30")
        assert year.taken_for_sync("Z1", "2027-05-14 07:45")
        assert not year.taken_for_sync("Z1", "2027-05-14 15:30")
        busy("room.002@pv.example.org", "Room booked", "15:30", "16:30")  # the room is required
        assert year.taken_for_sync("Z1", "2027-05-14 15:30")


def test_future_meetings_are_counted_per_kind_of_cycle() -> None:
    """The year allows a student one future meeting per kind of cycle (a separate reevaluation
    has its own, SPEC §3.6) and still catches a stale annual cycle's meeting left over."""
    from yearsim import cycle_kind

    assert cycle_kind("Z1/2026-09-04/meeting") == cycle_kind("Z1/2026-09-04.2/meeting") == "annual"
    assert cycle_kind("Z1/R2026-10-02/meeting") == "reevaluation"
    assert cycle_kind("Z1/amendment-2026-11-30.2/meeting") == "amendment"
    assert cycle_kind("Z1/initial_iep-2026-11-18/meeting") == "initial_iep"


def test_a_plan_row_is_checked_against_its_own_cycles_meetings() -> None:
    """`plan --all` has a row per open cycle: a separate reevaluation's row is judged by its own
    meeting, the annual row by the annual cycles' (a corrected DUE renumbers the cycle)."""
    from yearsim import same_cycle

    reeval = {"cycle_type": "reevaluation", "cycle_id": "R2027-04-30"}
    annual = {"cycle_type": "annual", "cycle_id": "2027-05-10"}
    assert same_cycle("Z1/R2027-04-30/meeting", reeval)
    assert not same_cycle("Z1/2027-05-10/meeting", reeval)
    assert same_cycle("Z1/2027-05-10.2/meeting", annual)
    assert not same_cycle("Z1/R2027-04-30/meeting", annual)
    combined = {
        "cycle_type": "reevaluation",
        "cycle_id": "R2027-05-20",
        "purposes": "annual+reevaluation",
    }
    assert same_cycle("Z1/2027-05-10/meeting", combined)


def test_only_an_annual_meeting_held_gives_the_roster_its_next_iep_date() -> None:
    """The year's "held" event moves last_iep_date only for the annual meeting (alone or
    holding a reevaluation), never for a separate reevaluation's meeting."""
    from yearsim import annual_row

    assert annual_row({"cycle_type": "annual", "purposes": "annual"})
    assert annual_row({"cycle_type": "reevaluation", "purposes": "annual+reevaluation"})
    assert not annual_row({"cycle_type": "reevaluation", "purposes": "reevaluation"})
    assert annual_row({"student_id": "Z1"})  # a row from before cycles: the annual one
