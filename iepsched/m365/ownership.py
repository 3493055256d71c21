"""Which installation owns an item, and the refusal when a mailbox holds another's (issue 8/6).

Two installations (two configs, two state files) on the same mailboxes once made hundreds of
duplicate tasks and adopted each other's events as "moved in Outlook". Every event carries the
installation in a second extended property, every task in its linked resource's displayName; a
snapshot that meets another installation's items stops before anything is written.
"""

from __future__ import annotations

from ..core.errors import UserError

__all__ = ["ForeignInstallation"]


class ForeignInstallation(UserError):
    """A mailbox holds iepsched items of another installation: nothing is written (exit 2)."""

    def __init__(self, mailbox: str, other: str, ours: str) -> None:
        super().__init__(
            f"mailbox {mailbox} holds iepsched items of another installation ({other!r}); this "
            f"config is installation {ours!r}. Two installations must not sync the same "
            "mailboxes: nothing was written. Run only the installation that owns them, or, if "
            f'this config replaces it, set [district] installation = "{other}" in this config.'
        )
        self.mailbox = mailbox
        self.other = other
        self.ours = ours
