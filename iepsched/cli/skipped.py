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

from ..core.errors import ExitCode
from ..core.model import SkippedRow
from ..outputs.skipped import skipped_summary

if TYPE_CHECKING:
    from ..service.district import District


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
    notice = skipped_notice(district.roster.skipped)
    if notice:
        click.echo(notice, err=True)
        # SPEC §2.2: exit 1 after the output, as for "some items failed, the rest applied".
        sys.exit(ExitCode.FAILURES)
