"""Opening the state file from commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.settings import Config
    from ..state.store import StateStore


@contextmanager
def open_state_readonly(config: Config) -> Iterator[StateStore | None]:
    """The state when a sync has created it, else None (a preview: nothing is created)."""
    path = config.state_path
    if not path.exists():
        yield None
        return
    from ..state.store import StateStore

    with StateStore(path) as store:
        yield store


@contextmanager
def open_state(config: Config) -> Iterator[StateStore]:
    """The state, created (mode 0600) if missing."""
    from ..state.store import StateStore

    with StateStore(config.state_path) as store:
        yield store
