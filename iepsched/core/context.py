"""PlanContext: everything the planner needs besides the students, built once per run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .model import MeetingSettings, Student
from .rules import Rules
from .schoolcal import SchoolCalendar, UnknownDate


@dataclass(frozen=True, slots=True)
class PlanContext:
    """Everything the planner needs besides the students. Built once per run."""

    calendar_for: Callable[[Student], SchoolCalendar]
    rules: Rules
    meetings: MeetingSettings
    tz: dt.tzinfo
    rooms: Mapping[str, str] = field(default_factory=dict)  # building -> room email
    # Roster building -> the warning its students' plans carry (a building not listed in
    # [calendar.buildings] that looks misspelt, planned on the default calendar).
    building_notes: Mapping[str, str] = field(default_factory=dict)
    # Position of each milestone key in the rules (ties in date order sort by it).
    rank: Mapping[str, int] = field(init=False, repr=False, compare=False)
    uses_due: bool = field(init=False, repr=False, compare=False)
    spans: tuple[Span, ...] = field(init=False, repr=False, compare=False)  # the slots, in minutes
    _rooms_seen: dict[str, str] = field(init=False, repr=False, compare=False)
    _early: dict[int, tuple[tuple[int, int], ...]] = field(init=False, repr=False, compare=False)

    def room_for(self, building: str) -> str:
        """The building's room mailbox (lower case), or ""; `rooms` may match names loosely,
        so each building name is looked up once."""
        found = self._rooms_seen.get(building)
        if found is None:
            found = (self.rooms.get(building) or "").lower()
            self._rooms_seen[building] = found
        return found

    def early_school_days(self, cal: SchoolCalendar) -> tuple[tuple[int, int], ...]:
        """Each school year's first `first_school_days_excluded` school days, as (first, last)
        date ordinals: no on-track meeting falls there (SPEC §3.1). Once per calendar."""
        found = self._early.get(id(cal))
        if found is None:
            n = self.rules.ladder.first_school_days_excluded
            spans: list[tuple[int, int]] = []
            for year in cal.years if n > 0 else ():
                try:
                    last = cal.add_school_days(year.first_day - dt.timedelta(days=1), n)
                except UnknownDate:
                    last = year.last_day  # the year has fewer school days than that
                spans.append((year.first_day.toordinal(), min(last, year.last_day).toordinal()))
            found = tuple(spans)
            self._early[id(cal)] = found
        return found

    reeval_r_only: bool = field(init=False, repr=False, compare=False)
    ages: tuple[int, ...] = field(init=False, repr=False, compare=False)  # age thresholds in rules

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", {m.key: i for i, m in enumerate(self.rules.milestones)})
        enabled = [m for m in self.rules.milestones if m.enabled]
        object.__setattr__(self, "uses_due", any(m.rule.anchor == "DUE" for m in enabled))
        length = self.meetings.duration_minutes
        spans = tuple(
            (t.hour * 60 + t.minute, t.hour * 60 + t.minute + length) for t in self.meetings.slots
        )
        object.__setattr__(self, "spans", spans)
        object.__setattr__(self, "_rooms_seen", {})
        object.__setattr__(self, "_early", {})
        reeval_rules = [m for m in enabled if m.track == "reeval"]
        object.__setattr__(
            self,
            "reeval_r_only",
            all(m.rule.anchor == "R" and m.min_age is None for m in reeval_rules),
        )
        ages = {m.min_age for m in enabled if m.min_age is not None}
        object.__setattr__(self, "ages", tuple(sorted({*ages, self.rules.rights_transfer_age})))


Span = tuple[int, int]  # [start, end) in minutes after local midnight of one school day
