"""What the state's rows say about each student's plan: booked meetings, held and completed
cycles, completed milestones, contacts. Pure: stored rows + today + the district's zone in,
plan inputs out, read from typed fields (milestone, cycle, state) — never from key strings.

`plan`, `sync`, `export` and `report` all plan through this, so every command shows the answer
sync would book.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from .model import BookedMeeting, Contact, Cycle, ItemState, MeetingRequest, Student
from .reconcile import COMPLETED, LIVE, PENDING, assign_cycles
from .rules import meeting_held


@dataclass(frozen=True)
class StateInputs:
    """What the state contributes to a plan."""

    booked: dict[str, BookedMeeting]
    done: dict[str, frozenset[str]]
    contacts: dict[str, list[Contact]]
    cycle_ids: dict[str, str]
    reeval_cycle_ids: dict[str, str]
    cycle_rows: list[Cycle]
    # The held cycle before the current annual one, with the milestones completed in it: its
    # progress monitoring still rolls forward (SPEC §5).
    held_cycles: dict[str, tuple[Cycle, frozenset[str]]] = field(default_factory=dict)
    # The other cycles of SPEC §3.6, read from their items' rows: the booked meeting and the
    # completed milestones per (student, cycle id), the day each cycle was held (meeting held,
    # or a written amendment signed) as "student/cycle_id", and the meeting request log.
    cycle_booked: dict[tuple[str, str], BookedMeeting] = field(default_factory=dict)
    cycle_done: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    cycles_held: dict[str, dt.date] = field(default_factory=dict)
    requests: dict[str, list[MeetingRequest]] = field(default_factory=dict)


def state_inputs(
    students: Sequence[Student],
    items: Mapping[str, ItemState],
    cycles: Mapping[tuple[str, str], Sequence[Cycle]],
    contacts: Sequence[Contact],
    *,
    today: dt.date,
    tz: dt.tzinfo,
    requests: Sequence[MeetingRequest] = (),
) -> StateInputs:
    """Booked meetings, completed items, contacts and cycle ids, from the state's rows.

    Only an item's own rows count: the copy left in a former case manager's mailbox
    (`moving_from`) is being removed and books nothing.
    """
    rows = [st for st in items.values() if st.moving_from is None]
    annual_now = {sid: c[-1] for (sid, track), c in cycles.items() if track == "annual" and c}
    reeval_now = {sid: c[-1] for (sid, track), c in cycles.items() if track == "reeval" and c}

    held: dict[str, dt.date] = {}
    meetings: dict[str, ItemState] = {}
    reeval_done: dict[str, dt.date] = {}
    for st in rows:
        sid = st.student_id
        if (
            st.milestone == "meeting"
            and st.state in (LIVE, PENDING)
            and st.start
            and st.end
            and sid in annual_now
            and annual_now[sid].cycle_id == st.cycle_id
        ):
            meetings[sid] = st
            day = st.start.astimezone(tz).date()
            if meeting_held(day, today):
                held[sid] = day
        elif (
            st.milestone == "reeval_due"
            and st.state == COMPLETED
            and sid in reeval_now
            and reeval_now[sid].cycle_id == st.cycle_id
        ):
            reeval_done[sid] = st.completed_on or today
    annual, reeval, changed = assign_cycles(students, cycles, held=held, reeval_done=reeval_done)

    booked: dict[str, BookedMeeting] = {}
    for sid, st in meetings.items():
        if annual.get(sid) == st.cycle_id and st.start and st.end:
            booked[sid] = BookedMeeting(
                sid,
                st.start,
                st.end,
                st.cycle_id,
                adopted=st.moved,
                # The due date the meeting was booked against: the cycle's, before this run's
                # correction.
                due_date=annual_now[sid].due_date,
            )
    done: dict[str, set[str]] = {}
    for st in rows:
        if st.state == COMPLETED and st.cycle_id in (
            annual.get(st.student_id),
            reeval.get(st.student_id),
        ):
            done.setdefault(st.student_id, set()).add(st.milestone)
    held_cycles = _held_cycles(cycles, annual, held, rows)
    by_student: dict[str, list[Contact]] = {}
    for c in contacts:
        by_student.setdefault(c.student_id, []).append(c)
    cycle_booked, cycle_done, cycles_held = _other_cycles(rows, annual, today, tz)
    by_requester: dict[str, list[MeetingRequest]] = {}
    for r in requests:
        by_requester.setdefault(r.student_id, []).append(r)
    return StateInputs(
        booked=booked,
        done={sid: frozenset(keys) for sid, keys in done.items()},
        contacts=by_student,
        cycle_ids=annual,
        reeval_cycle_ids=reeval,
        cycle_rows=changed,
        held_cycles=held_cycles,
        cycle_booked=cycle_booked,
        cycle_done=cycle_done,
        cycles_held=cycles_held,
        requests=by_requester,
    )


def _other_cycles(
    rows: Sequence[ItemState], annual: Mapping[str, str], today: dt.date, tz: dt.tzinfo
) -> tuple[
    dict[tuple[str, str], BookedMeeting], dict[tuple[str, str], frozenset[str]], dict[str, dt.date]
]:
    """Per (student, cycle id) other than the current annual cycle: its booked meeting, its
    completed milestones, and the day it was held — its meeting's day once that is past
    (`rules.meeting_held`), or for a written amendment the day `amendment_signed` was completed.
    The planner only looks up the cycles it has open, so older rows here are harmless."""
    booked: dict[tuple[str, str], BookedMeeting] = {}
    done: dict[tuple[str, str], set[str]] = {}
    held: dict[str, dt.date] = {}
    for st in rows:
        sid, cid = st.student_id, st.cycle_id
        if annual.get(sid) == cid:
            continue
        if st.milestone == "meeting" and st.state in (LIVE, PENDING) and st.start and st.end:
            booked[(sid, cid)] = BookedMeeting(sid, st.start, st.end, cid, adopted=st.moved)
            day = st.start.astimezone(tz).date()
            if meeting_held(day, today):
                held[f"{sid}/{cid}"] = day
        elif st.state == COMPLETED:
            done.setdefault((sid, cid), set()).add(st.milestone)
            if st.milestone == "amendment_signed":
                held[f"{sid}/{cid}"] = st.completed_on or today
    return booked, {k: frozenset(v) for k, v in done.items()}, held


def _held_cycles(
    cycles: Mapping[tuple[str, str], Sequence[Cycle]],
    annual: Mapping[str, str],
    held: Mapping[str, dt.date],
    rows: Sequence[ItemState],
) -> dict[str, tuple[Cycle, frozenset[str]]]:
    """Per student, the latest annual cycle before the current one whose meeting was held (this
    run may be the one that closes it: `held`), with its completed milestones."""
    found: dict[str, Cycle] = {}
    for (sid, track), known in cycles.items():
        current = annual.get(sid)
        if track != "annual" or not known or current is None:
            continue
        for i in range(len(known) - 1, -1, -1):
            c = known[i]
            if c.cycle_id == current:
                continue
            held_on = c.held_on or (held.get(sid) if i == len(known) - 1 else None)
            if held_on is not None:
                found[sid] = replace(c, held_on=held_on)
            break
    done: dict[str, set[str]] = {}
    for st in rows:
        prior = found.get(st.student_id)
        if prior is not None and st.state == COMPLETED and st.cycle_id == prior.cycle_id:
            done.setdefault(st.student_id, set()).add(st.milestone)
    return {sid: (c, frozenset(done.get(sid, ()))) for sid, c in found.items()}
