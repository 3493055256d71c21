"""A progress bar for long CLI steps that stays out of the way when nobody is watching.

The command decides whether to show it (`show_progress`): never with `-q`, never when stderr is
not a terminal (cron, systemd and CI logs must not fill with bar redraws). Library code takes a
plain "wrap this iterable" callable, so it never knows about terminals.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Stream(Protocol):
    def isatty(self) -> bool: ...


def show_progress(verbosity: int, stream: Stream) -> bool:
    """Whether a bar belongs on `stream`: not quiet (-q) and a terminal."""
    return verbosity >= 0 and stream.isatty()


def progress(
    iterable: Iterable[T], *, label: str, length: int | None = None, enabled: bool
) -> Iterator[T]:
    """Yield every item of `iterable`; draw a click progress bar on stderr when `enabled`."""
    if not enabled:
        yield from iterable
        return
    import sys

    import click

    with click.progressbar(iterable, label=label, length=length, file=sys.stderr) as bar:
        yield from bar
