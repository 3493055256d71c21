"""Timeline rules as data: the rule language, the defaults of SPEC §3, and rules TOML overrides."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from calendars import D, context, student

from iepsched.core.errors import Problem
from iepsched.core.rules import (
    DEFAULT_RULES,
    MAX_OFFSET_DAYS,
    MAX_OFFSET_MONTHS,
    DateRule,
    LadderRules,
    parse_rule,
    rules_from_toml,
)
from iepsched.core.schedule import plan_district

WHERE = "config/rules.toml"
FORMS = (
    "use cal(A, N), months(A, N), school(A, N), days(A, N) or prev(A) with A one of M, DUE, "
    "NEXT_DUE, R"
)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        pytest.param("cal(M, -21)", DateRule("cal", "M", -21), id="cal"),
        pytest.param("months(M, -1)", DateRule("months", "M", -1), id="months"),
        pytest.param("school(M, +10)", DateRule("school", "M", 10), id="explicit-plus"),
        pytest.param("school(R,-65)", DateRule("school", "R", -65), id="no-spaces"),
        pytest.param("  days( NEXT_DUE , 14 ) ", DateRule("days", "NEXT_DUE", 14), id="spaces"),
        pytest.param("prev(DUE)", DateRule("prev", "DUE", 0), id="prev"),
        pytest.param("cal(DUE, 0)", DateRule("cal", "DUE", 0), id="zero"),
    ],
)
def test_parse_rule_accepts_the_documented_forms(text: str, rule: DateRule) -> None:
    """Every op and anchor parses, with optional sign and free spacing."""
    assert parse_rule(text) == rule


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("cal(M)", "'cal(M)': cal(A, N) needs a number of days or months", id="no-n"),
        pytest.param("prev(R, 1)", "'prev(R, 1)': prev(A) takes no number", id="prev-with-n"),
        pytest.param("cal(X, -1)", f"'cal(X, -1)' is not a date rule; {FORMS}", id="bad-anchor"),
        pytest.param("CAL(M, -1)", f"'CAL(M, -1)' is not a date rule; {FORMS}", id="upper-op"),
        pytest.param("cal(m, -1)", f"'cal(m, -1)' is not a date rule; {FORMS}", id="lower-anchor"),
        pytest.param("cal(M, -1.5)", f"'cal(M, -1.5)' is not a date rule; {FORMS}", id="fraction"),
        pytest.param("weeks(M, -2)", f"'weeks(M, -2)' is not a date rule; {FORMS}", id="bad-op"),
        pytest.param("cal(M, -1) + 2", f"'cal(M, -1) + 2' is not a date rule; {FORMS}", id="tail"),
        pytest.param("", f"'' is not a date rule; {FORMS}", id="empty"),
    ],
)
def test_parse_rule_rejects_with_the_accepted_forms(text: str, message: str) -> None:
    """A malformed rule is a ValueError whose message says what is accepted."""
    with pytest.raises(ValueError) as info:
        parse_rule(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("cal(M,-21)", "cal(M, -21)", id="cal"),
        pytest.param("school(M, +10)", "school(M, 10)", id="plus-dropped"),
        pytest.param("prev( R )", "prev(R)", id="prev"),
    ],
)
def test_date_rule_prints_in_canonical_form(text: str, shown: str) -> None:
    """str(DateRule) is the canonical spelling that parses back to the same rule."""
    assert str(parse_rule(text)) == shown
    assert parse_rule(shown) == parse_rule(text)


def test_parse_rule_returns_one_object_per_text() -> None:
    """Equal texts give the same object (the planner memoises by identity)."""
    assert parse_rule("cal(M, -14)") is parse_rule("cal(M, -14)")


def test_default_rules_are_the_spec_tables_in_order() -> None:
    """The built-in rules are SPEC §3.2 then §3.5, in that order, with those exact rules."""
    table = [(m.key, str(m.rule), m.delivery, m.track, m.min_age) for m in DEFAULT_RULES.milestones]
    assert table == [
        ("begin_development", "months(M, -1)", "task", "annual", None),
        ("parent_contact_1", "cal(M, -21)", "task", "annual", None),
        ("parent_contact_2", "cal(M, -14)", "task", "annual", None),
        ("create_draft_in_webkidss", "cal(M, -14)", "task", "annual", None),
        ("written_notice", "cal(M, -14)", "task", "annual", None),
        ("invite_student", "cal(M, -14)", "task", "annual", 14),
        ("staff_invite", "cal(M, -14)", "event", "annual", None),
        ("collect_present_levels", "school(M, -5)", "task", "annual", None),
        ("draft_iep", "school(M, -3)", "task", "annual", None),
        ("send_draft", "cal(M, -2)", "task", "annual", None),
        ("prepare_meeting", "school(M, -1)", "task", "annual", None),
        ("meeting", "prev(M)", "event", "annual", None),
        ("submit_paperwork", "school(M, 10)", "task", "annual", None),
        ("distribute_iep", "school(M, 10)", "task", "annual", None),
        ("rights_transfer_notice", "cal(M, -14)", "task", "annual", None),
        ("progress_monitoring", "days(M, 14)", "recurring_task", "annual", None),
        ("bip_monitoring", "days(M, 14)", "recurring_task", "annual", None),
        ("progress_report", "prev(M)", "task", "annual", None),
        ("reeval_consent", "school(R, -65)", "task", "reeval", None),
        ("reeval_due", "prev(R)", "task", "reeval", None),
    ]
    assert DEFAULT_RULES.ladder == LadderRules(40, 20, 14, 14, 10)
    assert (DEFAULT_RULES.due_soon_days, DEFAULT_RULES.rights_transfer_age) == (7, 18)
    progress = next(m for m in DEFAULT_RULES.milestones if m.key == "progress_monitoring")
    assert progress.every_days == 14


def _load(text: str) -> tuple[Any, list[Problem]]:
    return rules_from_toml(tomllib.loads(text), WHERE)


def _milestone(rules: Any, key: str) -> Any:
    return next(m for m in rules.milestones if m.key == key)


def test_empty_rules_toml_gives_the_defaults() -> None:
    """An empty rules file changes nothing and reports nothing."""
    rules, problems = _load("")
    assert problems == []
    assert rules == DEFAULT_RULES


def test_rules_toml_overrides_an_offset_and_a_title() -> None:
    """[milestones.KEY] rule/title replace just those fields of a built-in milestone."""
    rules, problems = _load(
        '[milestones.send_draft]\nrule = "cal(M, -3)"\ntitle = "  Send the draft home  "\n'
    )
    assert problems == []
    send = _milestone(rules, "send_draft")
    assert (send.rule, send.title, send.delivery) == (
        DateRule("cal", "M", -3),
        "Send the draft home",
        "task",
    )
    assert [m.key for m in rules.milestones] == [m.key for m in DEFAULT_RULES.milestones]


def test_rules_toml_disables_a_milestone() -> None:
    """enabled = false keeps the milestone in order, marked off."""
    rules, problems = _load("[milestones.begin_development]\nenabled = false\n")
    assert problems == []
    assert _milestone(rules, "begin_development").enabled is False
    assert [m.key for m in rules.milestones] == [m.key for m in DEFAULT_RULES.milestones]


def test_rules_toml_adds_a_district_milestone_at_the_end() -> None:
    """A new key with rule and title becomes a milestone after the built-in ones."""
    rules, problems = _load(
        "[milestones.transition_survey]\n"
        'rule = "school(M, -7)"\ntitle = "Give the transition survey"\nmin_age = 14\n'
    )
    assert problems == []
    added = rules.milestones[-1]
    assert (added.key, added.rule, added.title, added.min_age, added.delivery, added.track) == (
        "transition_survey",
        DateRule("school", "M", -7),
        "Give the transition survey",
        14,
        "task",
        "annual",
    )


def test_rules_toml_changes_the_ladder_and_due_soon_days() -> None:
    """[ladder] counts and due_soon_days override the defaults."""
    rules, problems = _load(
        "due_soon_days = 3\n[ladder]\nbuffer_days = 21\nwindow_school_days = 45\n"
    )
    assert problems == []
    assert rules.ladder == LadderRules(window_school_days=45, buffer_days=21)
    assert rules.due_soon_days == 3


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param(
            "[milestones.send_draft]\ncolour = 'red'\n",
            [
                Problem(
                    f"{WHERE} [milestones.send_draft] colour",
                    "unknown key (known: rule, title, adult_title, delivery, kind, track, "
                    "min_age, max_age, min_age_at_next_due, if_student, every_days, enabled)",
                    "warning",
                )
            ],
            id="unknown-milestone-key-warns",
        ),
        pytest.param(
            "colour = 'red'\n",
            [
                Problem(
                    f"{WHERE} colour",
                    "unknown key (known: ladder, milestones, due_soon_days, contact_deadline)",
                    "warning",
                )
            ],
            id="unknown-top-level-key-warns",
        ),
        pytest.param(
            "[ladder]\nbuffer = 21\n",
            [
                Problem(
                    f"{WHERE} [ladder] buffer",
                    "unknown key (known: window_school_days, first_school_days_excluded, "
                    "buffer_days, notice_days, legal_notice_days)",
                    "warning",
                )
            ],
            id="unknown-ladder-key-warns",
        ),
        pytest.param(
            "[ladder]\nbuffer_days = -1\n",
            [
                Problem(
                    f"{WHERE} [ladder] buffer_days", "must be a whole number from 0 to 3660, not -1"
                )
            ],
            id="negative-ladder-count",
        ),
        pytest.param(
            "[ladder]\nbuffer_days = true\n",
            [
                Problem(
                    f"{WHERE} [ladder] buffer_days",
                    "must be a whole number from 0 to 3660, not True",
                )
            ],
            id="boolean-ladder-count",
        ),
        pytest.param(
            "ladder = 3\n",
            [Problem(f"{WHERE} [ladder]", "must be a table")],
            id="ladder-not-a-table",
        ),
        pytest.param(
            "milestones = 3\n",
            [Problem(f"{WHERE} [milestones]", "must be a table of milestone tables")],
            id="milestones-not-a-table",
        ),
        pytest.param(
            "[milestones]\nsend_draft = 3\n",
            [Problem(f"{WHERE} [milestones.send_draft]", "must be a table")],
            id="milestone-not-a-table",
        ),
        pytest.param(
            '[milestones.send_draft]\nrule = "cal(M)"\n',
            [
                Problem(
                    f"{WHERE} [milestones.send_draft] rule",
                    "'cal(M)': cal(A, N) needs a number of days or months",
                )
            ],
            id="bad-rule",
        ),
        pytest.param(
            '[milestones.send_draft]\ndelivery = "email"\n',
            [Problem(f"{WHERE} [milestones.send_draft] delivery", "invalid value 'email'")],
            id="bad-delivery",
        ),
        pytest.param(
            '[milestones.send_draft]\ntitle = "   "\n',
            [Problem(f"{WHERE} [milestones.send_draft] title", "invalid value '   '")],
            id="blank-title",
        ),
        pytest.param(
            "[milestones.invite_student]\nmin_age = -14\n",
            [Problem(f"{WHERE} [milestones.invite_student] min_age", "invalid value -14")],
            id="negative-min-age",
        ),
        pytest.param(
            '[milestones.send_draft]\nenabled = "no"\n',
            [Problem(f"{WHERE} [milestones.send_draft] enabled", "invalid value 'no'")],
            id="enabled-not-boolean",
        ),
        pytest.param(
            '[milestones.Send-Draft]\nrule = "cal(M, -2)"\ntitle = "x"\n',
            [
                Problem(
                    f"{WHERE} [milestones.Send-Draft]",
                    "milestone keys are lower_case_with_underscores",
                )
            ],
            id="bad-key-name",
        ),
        pytest.param(
            '[milestones.survey]\ntitle = "Survey"\n',
            [
                Problem(
                    f"{WHERE} [milestones.survey]",
                    'a new milestone needs rule = "..." and title = "..."',
                )
            ],
            id="new-without-rule",
        ),
        pytest.param(
            '[milestones.survey]\nrule = "cal(M, -3)"\n',
            [Problem(f"{WHERE} [milestones.survey]", 'a new milestone needs title = "..."')],
            id="new-without-title",
        ),
        pytest.param(
            "[milestones.progress_monitoring]\nevery_days = 0\n",
            [
                Problem(
                    f"{WHERE} [milestones.progress_monitoring]",
                    "a recurring milestone needs every_days >= 1",
                )
            ],
            id="recurring-without-interval",
        ),
        pytest.param(
            "[milestones.meeting]\nenabled = false\n",
            [Problem(f"{WHERE} [milestones.meeting]", "the meeting cannot be turned off")],
            id="meeting-cannot-be-disabled",
        ),
        pytest.param(
            "due_soon_days = -2\n",
            [Problem(f"{WHERE} due_soon_days", "must be a whole number from 0 to 366, not -2")],
            id="bad-due-soon-days",
        ),
    ],
)
def test_rules_toml_problems_name_file_section_and_key(text: str, problems: list[Problem]) -> None:
    """Each problem in a rules file is reported with its exact location and severity."""
    _rules, found = _load(text)
    assert found == problems


def test_rules_toml_reports_every_problem_at_once_and_keeps_the_good_parts() -> None:
    """Several problems come back together; valid overrides next to them still apply."""
    rules, problems = _load(
        "due_soon_days = 5\n"
        "[ladder]\nbuffer_days = 'two weeks'\nwindow_school_days = 50\n"
        '[milestones.send_draft]\nrule = "cal(M, -3)"\ndelivery = "fax"\n'
    )
    assert [(p.where, p.severity) for p in problems] == [
        (f"{WHERE} [ladder] buffer_days", "error"),
        (f"{WHERE} [milestones.send_draft] delivery", "error"),
    ]
    assert rules.ladder == LadderRules(window_school_days=50)
    assert rules.due_soon_days == 5
    assert _milestone(rules, "send_draft").rule == DateRule("cal", "M", -3)
    assert _milestone(rules, "send_draft").delivery == "task"


def test_disabled_meeting_stays_enabled() -> None:
    """Even after the error, the returned rules keep the meeting on."""
    rules, _problems = _load("[milestones.meeting]\nenabled = false\n")
    assert _milestone(rules, "meeting").enabled is True


def test_a_rules_override_changes_the_plan() -> None:
    """A 21-day buffer and a 3-day draft rule move the meeting and the draft milestone."""
    rules, problems = _load(
        '[ladder]\nbuffer_days = 21\n[milestones.send_draft]\nrule = "cal(M, -3)"\n'
        "[milestones.begin_development]\nenabled = false\n"
        '[milestones.survey]\nrule = "school(M, -7)"\ntitle = "Transition survey"\n'
    )
    assert problems == []
    s = student(due_date=D(2027, 1, 20))
    default = plan_district([s], context(), today=D(2026, 9, 1)).plans[0]
    custom = plan_district([s], context(rules=rules), today=D(2026, 9, 1)).plans[0]
    assert default.meeting is not None and custom.meeting is not None
    assert default.meeting.date == D(2027, 1, 6)
    # cal(2027-01-20, -21) = 2026-12-30, in winter break -> 2026-12-18.
    assert custom.meeting.date == D(2026, 12, 18)
    assert custom.meeting.rung == "on_track"
    send = custom.milestone("send_draft")
    assert send is not None and send.date == D(2026, 12, 15)  # Dec 15, a Tuesday
    assert custom.milestone("begin_development") is None
    survey = custom.milestone("survey")
    assert survey is not None and survey.date == D(2026, 12, 9)  # 7 school days before Dec 18


@pytest.mark.parametrize(
    ("text", "where", "value"),
    [
        pytest.param(
            '[milestones.send_draft]\nrule = "cal(M, -999999999)"\n',
            "[milestones.send_draft] rule",
            "-999999999",
            id="cal-days",
        ),
        pytest.param(
            '[milestones.send_draft]\nrule = "months(M, 99999999)"\n',
            "[milestones.send_draft] rule",
            "99999999",
            id="months",
        ),
        pytest.param(
            "[milestones.progress_monitoring]\nevery_days = 999999999\n",
            "[milestones.progress_monitoring] every_days",
            "999999999",
            id="every-days",
        ),
        pytest.param(
            "[ladder]\nwindow_school_days = 999999999\n",
            "[ladder] window_school_days",
            "999999999",
            id="ladder",
        ),
    ],
)
def test_absurd_offsets_are_refused_with_file_rule_and_value(
    text: str, where: str, value: str
) -> None:
    """An offset of millions of days is a config error naming file, rule and value (issue 8)."""
    _rules, problems = _load(text)
    assert [p.where for p in problems] == [f"{WHERE} {where}"]
    assert problems[0].severity == "error" and value in problems[0].message


def test_the_largest_allowed_offsets_still_plan() -> None:
    """At the limits the rules load and `plan` answers instead of dying with OverflowError."""
    rules, problems = _load(
        f'[milestones.send_draft]\nrule = "cal(M, -{MAX_OFFSET_DAYS})"\n'
        f'[milestones.survey]\nrule = "months(DUE, {MAX_OFFSET_MONTHS})"\ntitle = "Survey"\n'
        f"[milestones.progress_monitoring]\nevery_days = {MAX_OFFSET_DAYS}\n"
        f"[ladder]\nwindow_school_days = {MAX_OFFSET_DAYS}\nnotice_days = {MAX_OFFSET_DAYS}\n"
    )
    assert problems == []
    s = student(due_date=D(2027, 1, 20))
    p = plan_district([s], context(rules=rules), today=D(2026, 9, 1)).plans[0]
    assert p.milestone("survey") is not None


def test_rules_toml_moves_the_contact_deadline() -> None:
    """contact_deadline names the milestone whose date ends the two-contact window (SPEC §3.4)."""
    rules, problems = _load('contact_deadline = "parent_contact_1"\n')
    assert problems == [] and rules.contact_deadline == "parent_contact_1"
    s = student(due_date=D(2027, 1, 20))
    p = plan_district([s], context(rules=rules), today=D(2026, 9, 1)).plans[0]
    first = p.milestone("parent_contact_1")
    assert first is not None and p.contacts is not None and p.contacts.deadline == first.date
    _rules, bad = _load('contact_deadline = "no_such_step"\n')
    assert [p.where for p in bad] == [f"{WHERE} contact_deadline"]


def test_rules_toml_sets_the_adult_title() -> None:
    """adult_title is the title once rights have transferred; a new title keeps an adult form."""
    rules, problems = _load(
        '[milestones.written_notice]\nadult_title = "Notice to the parents and the student"\n'
    )
    assert problems == []
    adult = student(due_date=D(2027, 1, 20), birth_date=D(2008, 1, 1))
    p = plan_district([adult], context(rules=rules), today=D(2026, 9, 1)).plans[0]
    notice = p.milestone("written_notice")
    assert notice is not None and notice.title == "Notice to the parents and the student"
    retitled, _ = _load('[milestones.written_notice]\ntitle = "Mail the notice"\n')
    assert _milestone(retitled, "written_notice").adult_title == (
        "Mail the notice and to the student (rights transferred at 18)"
    )
