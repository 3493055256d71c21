"""The milestone tables of the other meeting cycles (SPEC §3.6) as data. Pure.

The annual table lives in `rules` (SPEC §3.2); every cycle of §3.6 shares part of it (written
notice, the two parent contacts, the staff invite, the meeting, paperwork and distribution) and adds
its own steps. A cycle's rule may be anchored on the date the cycle started as well as on M:

    C    initial_consent_date (eligibility)
    E    the eligibility determination (initial_iep)
    T    transfer_in_date (transfer)
    REQ  the date the amendment was requested
    R    reeval_due_date; DUE, NEXT_DUE and M as in `rules`

A cycle's rule is a `rules.DateRule` parsed by `rules.parse_rule` with every anchor: the same
operations (cal, months, school, prev, days), limits and messages as the annual table's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .model import CycleType, Delivery
from .rules import (
    CYCLE_ANCHORS,
    DEFAULT_MILESTONES,
    Anchor,
    DateRule,
    Kind,
    MilestoneRule,
    parse_rule,
)

CYCLE_TYPES: tuple[CycleType, ...] = (
    "annual",
    "eligibility",
    "initial_iep",
    "amendment",
    "reevaluation",
    "transfer",
)
# A cycle's rules are `rules.DateRule`s over every anchor (`rules.CYCLE_ANCHORS`); the name stays
# for the modules that read it.
CycleAnchor = Anchor


def parse_cycle_rule(text: str) -> DateRule:
    """Parse a cycle date expression (any anchor); raises ValueError naming the accepted forms."""
    return parse_rule(text, CYCLE_ANCHORS)


@dataclass(frozen=True, slots=True)
class CycleMilestoneRule:
    """How one milestone of a cycle is dated and delivered (the fields of `rules.MilestoneRule`
    that a cycle uses, with the wider anchors)."""

    key: str
    rule: DateRule
    title: str
    delivery: Delivery = "task"
    kind: Kind = "task"
    min_age: int | None = None
    every_days: int = 0
    adult_title: str | None = None


def from_milestone_rule(rule: MilestoneRule) -> CycleMilestoneRule:
    """An annual-table rule as a cycle rule: same date, title and delivery."""
    return CycleMilestoneRule(
        key=rule.key,
        rule=rule.rule,
        title=rule.title,
        delivery=rule.delivery,
        kind=rule.kind,
        min_age=rule.min_age,
        every_days=rule.every_days,
        adult_title=rule.adult_title,
    )


def _m(
    key: str, rule: str, title: str, *, delivery: Delivery = "task", kind: Kind = "task"
) -> CycleMilestoneRule:
    return CycleMilestoneRule(key, parse_cycle_rule(rule), title, delivery, kind)


# The steps every cycle with a meeting shares with the annual table (SPEC §3.6, table header).
# They are taken from the rules in force, so a rules TOML that changes (or turns off) one of them
# changes it in every cycle, and the words stay the same wherever the step appears.
SHARED_BEFORE: tuple[str, ...] = (
    "parent_contact_1",
    "parent_contact_2",
    "written_notice",
    "staff_invite",
)
SHARED_AFTER: tuple[str, ...] = ("submit_paperwork", "distribute_iep")


def _shared(
    keys: tuple[str, ...], annual: Mapping[str, MilestoneRule]
) -> tuple[CycleMilestoneRule, ...]:
    return tuple(from_milestone_rule(annual[k]) for k in keys if k in annual and annual[k].enabled)


def meeting(title: str) -> CycleMilestoneRule:
    """The meeting itself, under the cycle's own title (the event's purpose)."""
    return _m("meeting", "prev(M)", title, delivery="event", kind="event")


MEETING_TITLES: Mapping[CycleType, str] = {
    "annual": "IEP meeting",
    "eligibility": "Eligibility meeting",
    "initial_iep": "Initial IEP meeting",
    "amendment": "IEP amendment meeting",
    "reevaluation": "Reevaluation meeting",
    "transfer": "Transfer IEP meeting",
}

# What each cycle adds before / after the shared steps (SPEC §3.6's last column).
EXTRA_BEFORE: Mapping[CycleType, tuple[CycleMilestoneRule, ...]] = {
    "eligibility": (
        _m("evaluation_plan", "school(C, 5)", "Write the evaluation plan"),
        _m("evaluation_complete", "school(M, -5)", "Complete the evaluation report"),
    ),
    "amendment": (
        _m("send_amendment_draft", "cal(M, -2)", "Send the amendment draft to the LEA and parents"),
    ),
    "transfer": (
        _m("request_records", "school(T, 1)", "Request the records from the previous district"),
        _m(
            "comparable_services",
            "school(T, 1)",
            "Provide services comparable to the previous IEP",
        ),
    ),
}

# Out of state the new district may evaluate first (34 CFR 300.323(f)).
OUT_OF_STATE: tuple[CycleMilestoneRule, ...] = (
    _m("decide_evaluation", "school(T, 10)", "Decide whether to evaluate the transfer student"),
)

# An amendment without a meeting (34 CFR 300.324(a)(4)): tasks only, no event. SPEC §3.6 names
# the steps but not their dates; these give the parents most of the 14 days to read and sign.
WITHOUT_MEETING: tuple[CycleMilestoneRule, ...] = (
    _m(
        "send_amendment_document",
        "school(REQ, 2)",
        "Send the written amendment to the parents for agreement",
    ),
    _m("amendment_signed", "prev(DUE)", "Amendment agreed and signed by the parents"),
    _m(
        "distribute_iep",
        "school(DUE, 10)",
        "Distribute the amended IEP to the team and the parents",
    ),
)


def meeting_table(
    cycle_type: CycleType,
    *,
    out_of_state: bool = False,
    tasks: tuple[CycleMilestoneRule, ...] = (),
    annual: Sequence[MilestoneRule] = DEFAULT_MILESTONES,
) -> tuple[CycleMilestoneRule, ...]:
    """The milestones of a cycle with its own meeting (annual and initial_iep use the annual
    rules instead). `annual` is the rules' milestone table the shared steps come from; `tasks`
    come first: the reevaluation passes its tasks from the rules' reeval track (SPEC §3.5)."""
    by_key = {m.key: m for m in annual}
    extra = (*tasks, *EXTRA_BEFORE.get(cycle_type, ()))
    if cycle_type == "transfer" and out_of_state:
        extra = (*extra, *OUT_OF_STATE)
    return (
        *extra,
        *_shared(SHARED_BEFORE, by_key),
        meeting(MEETING_TITLES[cycle_type]),
        *_shared(SHARED_AFTER, by_key),
    )
