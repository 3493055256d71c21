"""The two kinds of failure (STYLE habit 5).

`UserError` carries every problem found in the user's input at once; the CLI prints them without a
traceback and exits 2. The `GraphError` family describes what the remote said; it lives here so the
core and sync engine can name it without importing `requests`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """How a command ends (SPEC): the one definition the CLI and the sync engine share."""

    OK = 0
    FAILURES = 1  # sync: some items failed, the rest were applied
    USAGE = 2  # bad input, configuration or Graph refusal: nothing (more) was written
    SAFETY = 3  # sync: the cancellation guard stopped the run before any write


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, located precisely enough to fix it.

    `where` is e.g. ``config/iepsched.toml [meetings] slots`` or
    ``roster.csv line 7, column birth_date``.
    """

    where: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class UserError(Exception):
    """Bad input or configuration; nothing was written. Shown without a traceback (exit 2)."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = problems
        super().__init__("\n".join(str(p) for p in problems))


class GraphError(Exception):
    """Microsoft Graph answered with an error (or could not be reached)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(message)


class GraphAuthError(GraphError):
    """Token could not be acquired or was refused (401/403, MSAL error)."""


class GraphNotFound(GraphError):
    """The item is gone (404): usually deleted by a person."""


class GraphThrottled(GraphError):
    """Still throttled (429/503/504) after the retry budget was spent."""


class GraphConflict(GraphError):
    """A precondition failed or the item already exists (409/412, ErrorDuplicateTransactionId)."""


class GraphTransportError(GraphError):
    """The connection dropped or timed out; the write may or may not have happened."""


class LockedError(UserError):
    """Another sync holds the state lock."""
