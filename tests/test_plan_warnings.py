"""Plan warnings are structured: code reads the code; people and every output read the sentence."""

from __future__ import annotations

import dataclasses

import pytest
from calendars import D, context, kansas, student

from iepsched.core.model import PlanWarning, StudentPlan
from iepsched.core.schedule import plan_district
from iepsched.outputs.render import plan_json, plan_table
from iepsched.outputs.report import next_action


def unplanned() -> StudentPlan:
    """A student whose meeting needs the 2027-28 calendar, which is not loaded."""
    s = student(due_date=D(2027, 10, 1))
    return plan_district([s], context(kansas("2026-27")), today=D(2027, 6, 1)).plans[0]


def test_unloaded_year_gives_the_unknown_year_code() -> None:
    """A meeting that cannot be placed for an unloaded year carries code unknown_year."""
    p = unplanned()
    assert p.status == "unplanned"
    assert p.warnings[0].code == "unknown_year"
    assert "2027-28" in p.warnings[0].text


def test_next_action_reads_the_code_not_the_sentence() -> None:
    """The report's next action follows the code, whatever the sentence says."""
    p = unplanned()
    assert next_action(p) == "Load the missing school year's calendar."
    reworded = dataclasses.replace(
        p,
        warnings=(PlanWarning("unknown_year", "Le calendrier 2027-28 manque."),),
    )
    assert next_action(reworded) == "Load the missing school year's calendar."
    other = dataclasses.replace(
        p,
        warnings=(PlanWarning("unplanned", "Something is not loaded, says the text."),),
    )
    assert next_action(other) == "Check the school calendar for this building."


def test_outputs_show_the_sentences() -> None:
    """plan JSON (SPEC §4) and the plan table show each warning's sentence."""
    p = unplanned()
    texts = [w.text for w in p.warnings]
    assert plan_json(p)["warnings"] == texts
    assert texts[0][:40] in plan_table(p).replace("\n  ", " ")


def test_plan_warning_is_frozen() -> None:
    """A warning is an immutable value."""
    w = PlanWarning("overdue", "The IEP was due.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.code = "at_risk"  # type: ignore[misc]
    assert str(w) == "The IEP was due."  # str() is the sentence
