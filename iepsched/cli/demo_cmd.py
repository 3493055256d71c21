"""`iepsched demo`: the whole main job against the local Graph sandbox, in one command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .base import app, handle_errors, main, parse_day

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..core.model import DistrictPlan, StudentPlan
    from ..m365.graph import GraphClient
    from ..service.district import District
    from ..service.sync import SyncReport
    from ..state.store import StateStore

DEMO_TODAY = dt.date(2026, 11, 30)  # the sample roster is written around this date
DEMO_TENANT = "sandbox-tenant"
# The demo's amendment request (SPEC §3.6), logged as `iepsched meeting request` logs it: for a
# student whose annual review is months away (so the amendment is a meeting of its own) and whose
# family reads Spanish (so the notice shows the family's language).
AMENDMENT_STUDENT = "S1017"
AMENDMENT_REASON = "Teacher concern: reading goal"


@main.command()
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    default=DEMO_TODAY.isoformat(),
    show_default=True,
    help="The night to simulate (the sample district is written around 2026-11-30).",
)
@click.option("--latency-ms", default=2, show_default=True, help="Sandbox latency per request.")
@click.option(
    "--state",
    "state_dir",
    metavar="DIR",
    help="Keep the demo's state file here (default: a temporary folder, removed afterwards).",
)
@click.pass_context
@handle_errors
def demo(ctx: click.Context, today: str, latency_ms: int, state_dir: str | None) -> None:
    """Sync the sample district into a local Graph sandbox, play a case manager, sync again.

    Nothing leaves this machine: the sandbox listens on 127.0.0.1 only.

    Example: iepsched demo
    """
    from ..sandbox import GraphSandbox

    config = app(ctx).config()
    day = parse_day(today)
    with GraphSandbox(latency_ms=latency_ms, seed=7, tenant_id=DEMO_TENANT) as sandbox:
        sandbox.start(port=0)
        if state_dir:
            Path(state_dir).mkdir(parents=True, exist_ok=True)
            _run_demo(config, sandbox, day, Path(state_dir), kept=True)
        else:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="iepsched-demo-") as tmp:
                _run_demo(config, sandbox, day, Path(tmp), kept=False)


def _run_demo(config: Any, sandbox: Any, day: dt.date, state_dir: Path, *, kept: bool) -> None:
    from ..core.settings import GraphSettings, StateSettings
    from ..m365.auth import make_token_provider
    from ..m365.graph import GraphClient
    from ..outputs.render import at_risk_lines
    from ..service.district import load_district
    from ..state.store import StateStore
    from .graph_setup import graph_remote
    from .sync_cmd import sync_once

    config = dataclasses.replace(
        config,
        graph=GraphSettings(
            tenant_id=DEMO_TENANT,
            client_id="iepsched-demo",
            authority=sandbox.authority,
            endpoint=sandbox.graph_url,
        ),
        state=StateSettings(path=state_dir / "iepsched.sqlite"),
    )
    tokens = make_token_provider(config.graph, client_secret="sandbox-secret")
    district = load_district(config)
    say = click.echo
    say(f"iepsched demo — {config.district.name} (fictional), night of {day.isoformat()}")
    say(f"Graph sandbox on {sandbox.graph_url} (loopback only); state in {state_dir}")
    for problem in district.problems:
        say(f"  {problem.severity}: {problem}")
    client = GraphClient(
        endpoint=sandbox.graph_url, tokens=tokens, timezone=config.district.timezone
    )
    try:
        remote = graph_remote(config, client)
        with StateStore(config.state_path) as store:
            say("\n1. First sync: meetings booked, tasks created")
            first = sync_once(district, store, remote, today=day)
            _summary(first, sandbox)
            plan = first.plan
            assert plan is not None
            # The case manager moves an on-track meeting (one that still has slack to move).
            plans = [p for p in plan.plans if p.meeting is not None and p.status == "on_track"]
            delivered = store.items()

            say(
                "\n2. A case manager moves a meeting in Outlook and completes two contact tasks; "
                "a teacher asks for an amendment"
            )
            moved = _move_one_meeting(client, plans, delivered, config.district.timezone)
            if moved:
                say(f"   moved the IEP meeting of {moved[0]} to {moved[1]}")
            for sid, method in _complete_contacts(client, delivered, day):
                say(f"   completed '{sid} parent contact' with method ticked: {method}")
            say(f"   meeting request: {_request_amendment(district, store, day)}")

            sandbox.reset_stats()
            say("\n3. Second sync: the move is adopted, tasks follow, contacts are logged")
            second = sync_once(district, store, remote, today=day)
            for line in second.reports:
                say(f"   {line}")
            _summary(second, sandbox)
            for contact in store.contacts():
                say(
                    f"   contact log: {contact.student_id} {contact.at.date().isoformat()} "
                    f"{contact.method} ({contact.source})"
                )

            sandbox.reset_stats()
            say("\n4. Third sync with nothing changed")
            third = sync_once(district, store, remote, today=day)
            _summary(third, sandbox)

            final = third.plan or second.plan
            assert final is not None
            _amendment_notice(district, final, store, day, state_dir / "notices")
            if not kept:
                say("   (the demo's temporary folder is removed at the end: --state DIR keeps it)")
            say("\nOpen cycles by type (SPEC §3.6):")
            for line in _type_lines(final.plans):
                say(f"  {line}")
            say("\nStudents who need action:")
            for line in at_risk_lines(final.plans):
                say(f"  {line}")
            code = max(first.exit_code, second.exit_code, third.exit_code)
    finally:
        client.close()
    sys.exit(code)


def _request_amendment(district: District, store: StateStore, day: dt.date) -> str:
    """Log the demo's amendment request through `iepsched meeting request`'s steps (the one
    open request rule, the journaled log); its confirmation line."""
    from ..core.model import MeetingRequest
    from .meeting_cmd import confirmation, refuse_second_open

    wanted = district.student(AMENDMENT_STUDENT)
    request = MeetingRequest(
        student_id=wanted.student_id,
        type="amendment",
        requested_on=day,
        reason=AMENDMENT_REASON,
        requested_by="teacher",
    )
    refuse_second_open(store.meeting_requests(wanted.student_id), request, day)
    return confirmation(store.log_meeting_request(request))


def _amendment_notice(
    district: District, plan: DistrictPlan, store: StateStore, day: dt.date, folder: Path
) -> None:
    """Write the parents' notice of the booked amendment meeting as `iepsched notice` does."""
    from ..outputs.notice import notice_file_name
    from .notice_cmd import _write as write_notice

    student = plan.get(AMENDMENT_STUDENT)
    cycle = (
        next(
            (c for c in student.cycles if c.cycle_type == "amendment" and c.meeting is not None),
            None,
        )
        if student is not None
        else None
    )
    if student is None or cycle is None or cycle.meeting is None:
        click.echo(f"   error: no amendment meeting is placed for {AMENDMENT_STUDENT}")
        return
    click.echo(
        f"   the amendment meeting of {AMENDMENT_STUDENT} is {cycle.meeting.state} on "
        f"{cycle.meeting.start:%Y-%m-%d %H:%M}; its notice to the parents:"
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / notice_file_name(AMENDMENT_STUDENT, "amendment")
    contacts = store.contacts(AMENDMENT_STUDENT)
    write_notice(district, student, cycle, contacts, day, None, target, None)


def _type_lines(plans: Sequence[StudentPlan]) -> list[str]:
    """One line per cycle type: how many are open and how many meetings of it are booked (a
    reevaluation held at the annual meeting is counted as that)."""
    from ..core.cyclerules import CYCLE_TYPES
    from ..outputs.cycleview import TYPE_LABELS

    cycles = [c for p in plans for c in p.cycles]
    lines = []
    for kind in CYCLE_TYPES:
        mine = [c for c in cycles if c.cycle_type == kind]
        combined = sum(1 for c in mine if c.combined_with is not None)
        booked = sum(
            1
            for c in mine
            if c.combined_with is None and c.meeting is not None and c.meeting.state == "booked"
        )
        noun = "meeting" if booked == 1 else "meetings"
        line = f"{TYPE_LABELS[kind]}: {len(mine)} open, {booked} {noun} booked"
        if combined:
            line += f", {combined} held at the annual review"
        lines.append(line)
    return lines


def _summary(report: SyncReport, sandbox: Any) -> None:
    stats = sandbox.stats()
    counts = ", ".join(f"{n} {what}" for what, n in sorted(report.counts.items())) or "no changes"
    click.echo(f"   {counts}")
    click.echo(
        f"   Graph requests: {stats['http_requests']} HTTP ({stats.get('batches', 0)} batches), "
        f"{stats['writes']} writes, {stats['throttled']} throttled"
    )
    for failure in report.failures:
        click.echo(f"   error: {failure}")


def _move_one_meeting(
    client: GraphClient, plans: list[StudentPlan], items: dict[str, Any], tz: str
) -> tuple[str, str] | None:
    """Play a person: move the first booked meeting to the next weekday, same time (via Graph)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    for p in plans:
        key = f"{p.student_id}/{p.cycle_id or p.due_date.isoformat()}/meeting"
        st = items.get(key)
        if st is None or st.remote_id is None or st.start is None or st.end is None:
            continue
        start = st.start.astimezone(zone) + dt.timedelta(days=1)
        while start.weekday() >= 5:
            start += dt.timedelta(days=1)
        end = start + (st.end - st.start)
        client.patch(
            f"/users/{st.mailbox}/events/{st.remote_id}",
            json={
                "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": tz},
                "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": tz},
            },
            mailbox=st.mailbox,
        )
        return p.student_id, start.strftime("%Y-%m-%d %H:%M")
    return None


def _complete_contacts(
    client: GraphClient, items: dict[str, Any], day: dt.date
) -> list[tuple[str, str]]:
    """Play a person: tick a method on two parent-contact tasks and complete them on `day`.

    The completion date is the demo's night, not the wall clock's, as a person's would be.
    """
    done: list[tuple[str, str]] = []
    labels = ["Phone", "Email"]
    for _key, st in sorted(items.items()):
        if len(done) == 2:
            break
        if st.milestone != "parent_contact_1" or not st.remote_id or not st.list_id:
            continue
        base = f"/users/{st.mailbox}/todo/lists/{st.list_id}/tasks/{st.remote_id}"
        label = labels[len(done)]
        checklist = client.get(f"{base}/checklistItems", mailbox=st.mailbox)
        for entry in checklist.get("value", []):
            if entry.get("displayName") == label:
                client.patch(
                    f"{base}/checklistItems/{entry['id']}",
                    json={"isChecked": True},
                    mailbox=st.mailbox,
                )
        completed = {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": "UTC"}
        client.patch(
            base,
            json={"status": "completed", "completedDateTime": completed},
            mailbox=st.mailbox,
        )
        done.append((st.student_id, label))
    return done
