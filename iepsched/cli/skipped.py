"""No student disappears silently (SPEC §2.2): the one notice for roster rows that were skipped.

`plan`, `report` and `export` write their output for the good rows, then call `finish_skipped`:
it names the skipped rows on stderr (how many, their lines, the readable student ids; the wording
is `outputs.skipped.skipped_summary`, shared with the HTML report) and exits 1 when there were any.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ..outputs.skipped import SkippedRow, skipped_summary

if TYPE_CHECKING:
    from ..inputs.roster import RosterResult
    from ..service.district import District

# SPEC §2.2: exit 1 after the output when a row was skipped (the code `sync` uses for "some items
# failed, the rest applied": the output is there, but not whole).
EXIT_SKIPPED = 1


def skipped_rows(roster: RosterResult) -> tuple[SkippedRow, ...]:
    """The skipped rows as (line, id) pairs wherever the roster says which id a line held.

    A roster reader that reports each skipped row (`roster.skipped`, with `line` and `student_id`)
    pairs them exactly; otherwise only a lone skipped row can be paired, and the readable ids and
    the lines are listed separately.
    """
    per_row = getattr(roster, "skipped", None)
    if per_row is not None:
        return tuple(SkippedRow(row.line, row.student_id) for row in per_row)
    lines, ids = roster.skipped_lines, sorted(roster.skipped_ids)
    if len(lines) == 1 and len(ids) <= 1:
        return (SkippedRow(lines[0], ids[0] if ids else None),)
    return (
        *(SkippedRow(None, sid) for sid in ids),
        *(SkippedRow(line, None) for line in lines),
    )


def skipped_notice(rows: Sequence[SkippedRow]) -> str:
    """The stderr notice for skipped rows ("" when there are none)."""
    if not rows:
        return ""
    summary = skipped_summary(rows)
    those = "that student is" if summary.startswith("1 ") else "those students are"
    return (
        f"warning: {summary}, so {those} not in this output. Fix the roster "
        "(`iepsched config check` names each problem) and run again."
    )


def finish_skipped(district: District) -> None:
    """After the output is written: name the skipped rows on stderr and exit 1 if there were any."""
    notice = skipped_notice(skipped_rows(district.roster))
    if notice:
        click.echo(notice, err=True)
        sys.exit(EXIT_SKIPPED)
