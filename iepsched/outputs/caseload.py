"""Caseloads (SPEC §6): the students of one case manager and/or one building.

The whole roster is always planned (so a caseload's answer is what sync would book); a caseload
only chooses which plans are shown. Names match case-insensitively; an unknown one is an error that
lists the known ones, closest first, so a typo is one glance from its fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..core.errors import Problem, UserError
from ..core.model import Student, StudentPlan

# An error lists at most this many known names (a cooperative may have hundreds of staff).
_LISTED = 8


@dataclass(frozen=True, slots=True)
class Caseload:
    """A chosen case manager (email) and/or building; both None means everyone."""

    case_manager: str | None = None
    building: str | None = None
    case_manager_name: str = ""  # the roster's name for the case manager, when it gives one

    @property
    def everyone(self) -> bool:
        return self.case_manager is None and self.building is None

    def describe(self) -> str:
        """How the caseload is named in a heading or a count line."""
        parts = []
        if self.case_manager is not None:
            who = self.case_manager_name or self.case_manager
            named = f" ({self.case_manager})" if self.case_manager_name else ""
            parts.append(f"case manager {who}{named}")
        if self.building is not None:
            parts.append(self.building)
        return ", ".join(parts)

    def holds(self, student: Student) -> bool:
        return (
            self.case_manager is None
            or student.case_manager_email.casefold() == self.case_manager.casefold()
        ) and (self.building is None or student.building.casefold() == self.building.casefold())


def resolve_caseload(
    students: Iterable[Student], *, case_manager: str | None, building: str | None
) -> Caseload:
    """The caseload named by --case-manager/--building, spelled as the roster spells it."""
    roster = list(students)
    problems: list[Problem] = []
    chosen: list[str | None] = []
    for option, value, known in (
        ("--case-manager", case_manager, {s.case_manager_email for s in roster}),
        ("--building", building, {s.building for s in roster}),
    ):
        if value is None:
            chosen.append(None)
            continue
        found = _match(value, known)
        if found is None:
            problems.append(Problem(option, _unknown(value, known)))
        chosen.append(found)
    if problems:
        raise UserError(problems)
    name = next((s.case_manager_name for s in roster if s.case_manager_email == chosen[0]), "")
    return Caseload(case_manager=chosen[0], building=chosen[1], case_manager_name=name)


def caseload_plans(plans: Sequence[StudentPlan], caseload: Caseload) -> list[StudentPlan]:
    """The plans of the caseload's students, in the order given."""
    if caseload.everyone:
        return list(plans)
    return [p for p in plans if caseload.holds(p.student)]


def _match(value: str, known: Iterable[str]) -> str | None:
    wanted = value.strip().casefold()
    return next((k for k in sorted(known) if k.casefold() == wanted), None)


def _unknown(value: str, known: set[str]) -> str:
    """`value` matches no one: name the known values, the closest first."""
    if not known:
        return f"{value!r} is not on the roster (the roster is empty)"
    import difflib  # only for this message: `plan --all` does not pay for it at start-up

    by_fold = {k.casefold(): k for k in sorted(known)}
    ranked = difflib.get_close_matches(value.casefold(), list(by_fold), n=len(by_fold), cutoff=0)
    names = [by_fold[k] for k in ranked]
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return f"{value!r} is not on the roster; known: {', '.join(names[:_LISTED])}{more}"
