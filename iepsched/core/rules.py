"""The timeline rules of SPEC §3 as data. Pure: parses already-loaded TOML tables, never files.

A milestone rule is a small expression over an anchor date:

    cal(M, -21)     M - 21 calendar days, then the previous school day if needed
    months(M, -1)   M - 1 month (dateutil), then the previous school day if needed
    school(M, -5)   the 5th school day before M (M itself never counts); +N for after
    prev(R)         R if it is a school day, else the previous school day
    days(M, 14)     M + 14 calendar days, then the *next* school day if needed

Anchors: M (the meeting date), DUE, NEXT_DUE, R (the reevaluation due date); the other meeting
cycles' tables (`cyclerules`, SPEC §3.6) may also name the date their cycle started: C (initial
consent), E (eligibility), T (transfer in), REQ (the request). The annual table has no such date,
so a rules TOML's rule naming one is refused (`parse_rule`'s `anchors`).
A rules TOML can change any milestone's rule, title, delivery or conditions (`min_age`,
`max_age`, `min_age_at_next_due`, `if_student`), turn it off (`enabled = false`), add
district-specific milestones, and change the meeting ladder's day counts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal, cast, get_args

from .errors import Problem
from .model import Delivery

Op = Literal["cal", "months", "school", "prev", "days"]
Anchor = Literal["M", "DUE", "NEXT_DUE", "R", "C", "E", "T", "REQ"]
# The anchors of the annual table (and so of a rules TOML); every cycle's table has them all.
ANNUAL_ANCHORS: tuple[Anchor, ...] = ("M", "DUE", "NEXT_DUE", "R")
CYCLE_ANCHORS: tuple[Anchor, ...] = get_args(Anchor)
Kind = Literal["task", "contact", "event", "recurring", "report"]

# The largest offset or interval a rules file may give: ten years. Anything bigger is a typo,
# and would make date arithmetic overflow (issue 8) in `plan` instead of in `config check`.
MAX_OFFSET_DAYS = 3660
MAX_OFFSET_MONTHS = 120

_EXPR = re.compile(
    r"^\s*(?P<op>cal|months|school|prev|days)\(\s*(?P<anchor>NEXT_DUE|DUE|REQ|[MRCET])\s*"
    r"(?:,\s*(?P<n>[+-]?\d+)\s*)?\)\s*$"
)


@dataclass(frozen=True, slots=True)
class DateRule:
    """One parsed date expression, e.g. ``cal(M, -21)``."""

    op: Op
    anchor: Anchor
    n: int = 0

    def __str__(self) -> str:
        return (
            f"{self.op}({self.anchor})"
            if self.op == "prev"
            else f"{self.op}({self.anchor}, {self.n})"
        )


@cache
def parse_rule(text: str, anchors: tuple[Anchor, ...] = ANNUAL_ANCHORS) -> DateRule:
    """Parse a date expression whose anchor is one of `anchors` (by default the annual table's;
    `CYCLE_ANCHORS` for the other cycles' tables); raises ValueError with the accepted forms.

    Cached, so equal texts give the same object and the planner can memoise by identity.
    """
    names = ", ".join(anchors)
    match = _EXPR.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a date rule; use cal(A, N), months(A, N), school(A, N), days(A, N) "
            f"or prev(A) with A one of {names}"
        )
    op = cast(Op, match["op"])
    anchor = cast(Anchor, match["anchor"])
    if anchor not in anchors:
        raise ValueError(
            f"{text!r}: {anchor} is not an anchor of this table (the date another kind of "
            f"meeting cycle starts from); use one of {names}"
        )
    n_text = match["n"]
    if op == "prev":
        if n_text is not None:
            raise ValueError(f"{text!r}: prev(A) takes no number")
        return DateRule(op, anchor, 0)
    if n_text is None:
        raise ValueError(f"{text!r}: {op}(A, N) needs a number of days or months")
    n = int(n_text)
    limit, unit = (MAX_OFFSET_MONTHS, "months") if op == "months" else (MAX_OFFSET_DAYS, "days")
    if abs(n) > limit:
        raise ValueError(f"{text!r}: {n} is too far; use at most {limit} {unit} either way")
    return DateRule(op, anchor, n)


@dataclass(frozen=True, slots=True)
class MilestoneRule:
    """How one milestone is dated and delivered."""

    key: str
    rule: DateRule
    title: str
    delivery: Delivery = "task"
    kind: Kind = "task"
    track: Literal["annual", "reeval"] = "annual"
    min_age: int | None = None  # only for students at least this old at M
    max_age: int | None = None  # only for students at most this old at M
    min_age_at_next_due: int | None = None  # only for students at least this old at NEXT_DUE
    # Only for students with this roster flag set (one of STUDENT_FLAGS, e.g. "has_bip").
    if_student: str | None = None
    every_days: int = 0  # recurring: interval in calendar days
    enabled: bool = True
    # The title once rights have transferred (age at M >= Rules.rights_transfer_age), when the
    # step then also involves the student (SPEC §3.2: written notice goes to the student at 18+).
    adult_title: str | None = None


@dataclass(frozen=True, slots=True)
class LadderRules:
    """Day counts of the meeting ladder (SPEC §3.1)."""

    # On-track days: the `window_school_days` school days before `latest` = cal(DUE,
    # -buffer_days), and `latest` itself, except the first `first_school_days_excluded` school
    # days of a school year (a month of preparation must fall in school time).
    window_school_days: int = 40
    first_school_days_excluded: int = 20
    buffer_days: int = 14  # latest on-track day: cal(DUE, -buffer_days)
    notice_days: int = 14  # district notice: meeting >= TODAY + notice_days
    legal_notice_days: int = 10  # K.A.R. 91-40-17(a): meeting >= TODAY + legal_notice_days


DEFAULT_CONTACT_DEADLINE = "parent_contact_2"
# The roster's yes/no columns a milestone may be conditioned on (`if_student`).
STUDENT_FLAGS: tuple[str, ...] = ("has_bip",)


def occurrence_key(milestone: str, number: int) -> str:
    """The milestone name of one occurrence of a recurring milestone, e.g.
    ``progress_monitoring/3``: its task's item key ends with it and its completion is read back
    under it, so each occurrence is done (or overdue) on its own."""
    return f"{milestone}/{number}"


@dataclass(frozen=True, slots=True)
class Rules:
    """All timeline rules; `milestones` in the SPEC §3.2 order (ties sort by this order)."""

    milestones: tuple[MilestoneRule, ...]
    ladder: LadderRules = LadderRules()
    due_soon_days: int = 7
    rights_transfer_age: int = 18
    # The milestone whose date is the deadline of the two parent contacts (SPEC §3.4).
    contact_deadline: str = DEFAULT_CONTACT_DEADLINE


def meeting_held(day: dt.date, today: dt.date) -> bool:
    """Whether a meeting on `day` counts as held by `today`: the one definition of "held".

    A meeting today is not yet held (it may still be cancelled or moved); one before today is.
    """
    return day < today


def _m(key: str, rule: str, title: str, **kw: Any) -> MilestoneRule:
    return MilestoneRule(key=key, rule=parse_rule(rule), title=title, **kw)


def _with_student(title: str, age: int = 18) -> str:
    """The adult title of a step that then also goes to the student."""
    return f"{title} and to the student (rights transferred at {age})"


DEFAULT_MILESTONES: tuple[MilestoneRule, ...] = (
    _m("begin_development", "months(M, -1)", "Begin developing the IEP"),
    _m("parent_contact_1", "cal(M, -21)", "Parent contact #1", kind="contact"),
    _m(
        "parent_contact_2",
        "cal(M, -14)",
        "Parent contact #2 (a different method than #1)",
        kind="contact",
    ),
    _m("create_draft_in_webkidss", "cal(M, -14)", "Create the IEP in Webkidss"),
    _m(
        "written_notice",
        "cal(M, -14)",
        "Send written notice of the meeting to both parents",
        adult_title=_with_student("Send written notice of the meeting to both parents"),
    ),
    _m("invite_student", "cal(M, -14)", "Invite the student to the meeting", min_age=14),
    _m(
        "staff_invite",
        "cal(M, -14)",
        "Invite the LEA representative and general-education teachers",
        delivery="event",
        kind="event",
    ),
    _m("collect_present_levels", "school(M, -5)", "Collect present-level data (during plan time)"),
    _m("draft_iep", "school(M, -3)", "Draft the IEP with current data and goals"),
    _m("send_draft", "cal(M, -2)", "Send the draft IEP to the LEA and parents"),
    _m(
        "prepare_meeting",
        "school(M, -1)",
        "Prepare the meeting: space, paperwork, parent rights, agenda",
    ),
    _m("meeting", "prev(M)", "IEP meeting", delivery="event", kind="event"),
    _m(
        "submit_paperwork",
        "school(M, 10)",
        "Turn in IEP paperwork to the MIS data clerk and SPED Teacher Leader",
    ),
    _m(
        "distribute_iep",
        "school(M, 10)",
        'Distribute the IEP; collect "Received and Understand IEP" signatures',
    ),
    # 34 CFR 300.320(c): the IEP in effect when the student turns 17 says rights transfer at 18.
    _m(
        "rights_transfer_notice",
        "cal(M, -14)",
        "Tell the student and parents that rights transfer at 18",
        max_age=17,
        min_age_at_next_due=17,
    ),
    _m(
        "progress_monitoring",
        "days(M, 14)",
        "Monitor progress on IEP goals",
        delivery="recurring_task",
        kind="recurring",
        every_days=14,
    ),
    _m(
        "bip_monitoring",
        "days(M, 14)",
        "Monitor the behavior intervention plan",
        delivery="recurring_task",
        kind="recurring",
        every_days=14,
        if_student="has_bip",
    ),
    # One milestone per grading period report date in [M, NEXT_DUE); the rule is unused.
    _m("progress_report", "prev(M)", "Send the progress report home", kind="report"),
    _m(
        "reeval_consent",
        "school(R, -65)",
        "Request consent for the reevaluation",
        track="reeval",
    ),
    _m("reeval_due", "prev(R)", "Reevaluation completed", track="reeval"),
)

DEFAULT_RULES = Rules(milestones=DEFAULT_MILESTONES)

_DELIVERIES = ("task", "event", "recurring_task")
_KINDS = ("task", "contact", "event", "recurring", "report")
_MILESTONE_KEYS = (
    "rule",
    "title",
    "adult_title",
    "delivery",
    "kind",
    "track",
    "min_age",
    "max_age",
    "min_age_at_next_due",
    "if_student",
    "every_days",
    "enabled",
)
_TOP_KEYS = ("ladder", "milestones", "due_soon_days", "contact_deadline")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _days(value: object) -> bool:
    """A whole number of days a date may be moved by: 0 .. MAX_OFFSET_DAYS."""
    return _count(value) and cast(int, value) <= MAX_OFFSET_DAYS


_VALID: dict[str, Callable[[object], bool]] = {
    "title": lambda v: False,  # handled first: it is stripped
    "adult_title": lambda v: False,  # likewise
    "delivery": lambda v: v in _DELIVERIES,
    "kind": lambda v: v in _KINDS,
    "track": lambda v: v in ("annual", "reeval"),
    "min_age": _count,
    "max_age": _count,
    "min_age_at_next_due": _count,
    "if_student": lambda v: v in STUDENT_FLAGS,
    "every_days": _days,
    "enabled": lambda v: isinstance(v, bool),
}


# The on-track window used to be calendar days before DUE (`window_days = 60`); it is now counted
# in school days back from `latest` (SPEC §3.1, revised 2026-11-30). An old rules file keeps
# working: its value is converted (five school days a week) with a warning saying the new key.
_OLD_WINDOW = "window_days"


def _school_days_in(calendar_days: int) -> int:
    return round(calendar_days * 5 / 7)


def _old_window(where: str, value: object, has_new: bool) -> Problem:
    loc = f"{where} [ladder] {_OLD_WINDOW}"
    if not _days(value):
        return Problem(
            loc,
            f"must be a whole number from 0 to {MAX_OFFSET_DAYS}, not {value!r} (and it is "
            "deprecated: use window_school_days)",
        )
    if has_new:
        return Problem(
            loc,
            "is deprecated and ignored: window_school_days is given; remove window_days",
            "warning",
        )
    days = cast(int, value)
    return Problem(
        loc,
        f"is deprecated: the on-track window is now counted in school days; read as "
        f"window_school_days = {_school_days_in(days)} ({days} calendar days); replace "
        f"window_days = {days} with window_school_days = {_school_days_in(days)}",
        "warning",
    )


def rules_from_toml(data: Mapping[str, Any], where: str) -> tuple[Rules, list[Problem]]:
    """Merge a parsed rules TOML over the defaults; return the rules and every problem found.

    `where` names the file in messages, e.g. ``config/rules.toml``.
    """
    problems: list[Problem] = []
    ladder = LadderRules()
    ladder_table = data.get("ladder", {})
    if not isinstance(ladder_table, Mapping):
        problems.append(Problem(f"{where} [ladder]", "must be a table"))
        ladder_table = {}
    for name, value in ladder_table.items():
        if name == _OLD_WINDOW:
            problems.append(_old_window(where, value, "window_school_days" in ladder_table))
            if _days(value) and "window_school_days" not in ladder_table:
                ladder = replace(ladder, window_school_days=_school_days_in(cast(int, value)))
        elif name not in LadderRules.__dataclass_fields__:
            known = ", ".join(LadderRules.__dataclass_fields__)
            problems.append(
                Problem(f"{where} [ladder] {name}", f"unknown key (known: {known})", "warning")
            )
        elif not _days(value):
            problems.append(
                Problem(
                    f"{where} [ladder] {name}",
                    f"must be a whole number from 0 to {MAX_OFFSET_DAYS}, not {value!r}",
                )
            )
        else:
            ladder = replace(ladder, **{name: value})

    milestones = {m.key: m for m in DEFAULT_MILESTONES}
    order = [m.key for m in DEFAULT_MILESTONES]
    table = data.get("milestones", {})
    if not isinstance(table, Mapping):
        problems.append(Problem(f"{where} [milestones]", "must be a table of milestone tables"))
        table = {}
    for key, spec in table.items():
        loc = f"{where} [milestones.{key}]"
        if not isinstance(spec, Mapping):
            problems.append(Problem(loc, "must be a table"))
            continue
        if not _KEY.match(key):
            problems.append(Problem(loc, "milestone keys are lower_case_with_underscores"))
            continue
        base = milestones.get(key)
        if base is None and "rule" not in spec:
            problems.append(Problem(loc, 'a new milestone needs rule = "..." and title = "..."'))
            continue
        fields: dict[str, Any] = {}
        for name, value in spec.items():
            here = f"{loc} {name}"
            if name not in _MILESTONE_KEYS:
                problems.append(
                    Problem(here, f"unknown key (known: {', '.join(_MILESTONE_KEYS)})", "warning")
                )
            elif name == "rule":
                try:
                    fields["rule"] = parse_rule(str(value))
                except ValueError as exc:
                    problems.append(Problem(here, str(exc)))
            elif name in ("title", "adult_title") and isinstance(value, str) and value.strip():
                fields[name] = value.strip()
            elif _VALID[name](value):
                fields[name] = value
            else:
                hint = f" (one of: {', '.join(STUDENT_FLAGS)})" if name == "if_student" else ""
                problems.append(Problem(here, f"invalid value {value!r}{hint}"))
        if base is None:
            if "title" not in fields:
                problems.append(Problem(loc, 'a new milestone needs title = "..."'))
                continue
            if "rule" not in fields:
                continue  # its rule was invalid and already reported
            milestones[key] = MilestoneRule(key=key, **fields)
            order.append(key)
        else:
            if "title" in fields and "adult_title" not in fields and base.adult_title:
                # A new title keeps its adult form: the same words, also to the student.
                fields["adult_title"] = _with_student(fields["title"])
            every = fields.get("every_days")
            if (
                every is not None
                and "rule" not in fields
                and base.rule == DateRule("days", base.rule.anchor, base.every_days)
            ):
                # SPEC §3.2: the first occurrence is M + E days, so a new interval moves it.
                fields["rule"] = DateRule("days", base.rule.anchor, every)
            milestones[key] = replace(base, **fields)
    for key in order:
        m = milestones[key]
        # Outputs repeat a recurring_task by its every_days, so it needs one whatever its kind.
        recurring = m.kind == "recurring" or m.delivery == "recurring_task"
        if recurring and m.every_days <= 0 and m.enabled:
            problems.append(
                Problem(
                    f"{where} [milestones.{key}]", "a recurring milestone needs every_days >= 1"
                )
            )
    if not milestones["meeting"].enabled:
        problems.append(
            Problem(f"{where} [milestones.meeting]", "the meeting cannot be turned off")
        )
        milestones["meeting"] = replace(milestones["meeting"], enabled=True)
    for name in data:
        if name not in _TOP_KEYS:
            problems.append(
                Problem(
                    f"{where} {name}", f"unknown key (known: {', '.join(_TOP_KEYS)})", "warning"
                )
            )
    contact_deadline = data.get("contact_deadline", DEFAULT_CONTACT_DEADLINE)
    if (
        not isinstance(contact_deadline, str)  # a list or table is not a key (nor hashable)
        or contact_deadline not in milestones
        or milestones[contact_deadline].kind in ("report",)
    ):
        problems.append(
            Problem(
                f"{where} contact_deadline",
                f"must name a dated milestone (e.g. parent_contact_2), not {contact_deadline!r}",
            )
        )
        contact_deadline = DEFAULT_CONTACT_DEADLINE
    due_soon = data.get("due_soon_days", 7)
    if not isinstance(due_soon, int) or isinstance(due_soon, bool) or not 0 <= due_soon <= 366:
        problems.append(
            Problem(
                f"{where} due_soon_days", f"must be a whole number from 0 to 366, not {due_soon!r}"
            )
        )
        due_soon = 7
    rules = Rules(
        milestones=tuple(milestones[k] for k in order),
        ladder=ladder,
        due_soon_days=due_soon,
        contact_deadline=contact_deadline,
    )
    return rules, problems
