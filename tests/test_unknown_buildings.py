"""Issue 10.2: a roster building missing from [calendar.buildings] (a misspelling) is reported with
the closest known name, and only planned on the default calendar when the config says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import cli

from iepsched.core.errors import UserError
from iepsched.inputs.config import load_config


def misspell(config: Path, *, fallback: bool = False) -> None:
    """Misspell a Bluestem building in the roster; without `fallback` the config refuses it."""
    roster = config.parent / "roster.csv"
    roster.write_text(
        roster.read_text(encoding="utf-8").replace(",Bluestem Elementary,", ",Bluestem Elem,"),
        encoding="utf-8",
    )
    mode = "default" if fallback else "error"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[calendar]\n", f'[calendar]\nunlisted_buildings = "{mode}"\n', 1),
        encoding="utf-8",
    )


def test_by_default_a_misspelt_building_is_planned_on_the_default_calendar_and_warned(
    sample_config: Path,
) -> None:
    """SPEC §2.1: the default calendar serves unlisted buildings; a near-miss name is warned."""
    roster = sample_config.parent / "roster.csv"
    roster.write_text(
        roster.read_text(encoding="utf-8").replace(",Bluestem Elementary,", ",Bluestem Elem,"),
        encoding="utf-8",
    )
    check = cli(sample_config, "config", "check")
    assert check.exit_code == 0
    assert any("did you mean 'Bluestem Elementary'" in x for x in check.stdout.splitlines())


def test_config_check_names_the_building_the_closest_name_and_the_lines(
    sample_config: Path,
) -> None:
    """With "error" the misspelt building is an error naming students, lines and a guess."""
    misspell(sample_config)
    result = cli(sample_config, "config", "check")
    assert result.exit_code == 2
    line = next(x for x in result.stdout.splitlines() if "'Bluestem Elem'" in x)
    assert line.startswith("error:")
    assert "(did you mean 'Bluestem Elementary'?)" in line
    assert "S1035 (line 36)" in line and 'unlisted_buildings = "default"' in line


def test_plan_of_a_student_in_an_unknown_building_says_why(sample_config: Path) -> None:
    """`plan S1036` names the roster line and the building, not "has exited"."""
    misspell(sample_config)
    result = cli(sample_config, "plan", "S1036", "--today", "2026-11-30")
    assert result.exit_code == 2
    assert "roster.csv line 37: S1036 is not planned: building 'Bluestem Elem'" in result.stderr
    assert "exited" not in result.stdout + result.stderr


def test_plan_all_says_which_students_are_left_out(sample_config: Path) -> None:
    """`plan --all` warns on stderr about the students it cannot plan."""
    misspell(sample_config)
    result = cli(sample_config, "plan", "--all", "--today", "2026-11-30")
    assert "'Bluestem Elem'" in result.stderr and "S1035 (line 36)" in result.stderr


def test_with_fallback_the_plan_uses_the_default_calendar_and_warns(sample_config: Path) -> None:
    """unlisted_buildings = "default": planned on the default calendar, with a warning each."""
    misspell(sample_config, fallback=True)
    check = cli(sample_config, "config", "check")
    assert check.exit_code == 0
    assert any(
        x.startswith("warning:") and "did you mean 'Bluestem Elementary'" in x
        for x in check.stdout.splitlines()
    )
    result = cli(sample_config, "plan", "S1036", "--today", "2026-11-30", "--format", "json")
    assert result.exit_code == 0
    warnings = json.loads(result.stdout)["warnings"]
    text = " ".join(w if isinstance(w, str) else json.dumps(w) for w in warnings)
    assert "Bluestem Elem" in text and "default calendar" in text


def test_calendar_show_refuses_an_unknown_building(sample_config: Path) -> None:
    """`calendar show --building X` for an unknown X is an error naming the known buildings."""
    result = cli(sample_config, "calendar", "show", "--building", "Bluestem Elem")
    assert result.exit_code == 2
    assert "no building 'Bluestem Elem'; did you mean 'Bluestem Elementary'?" in result.stderr
    assert "Prairie Valley Middle" in result.stderr
    ok = cli(sample_config, "calendar", "show", "--building", "bluestem  elementary")
    assert ok.exit_code == 0 and "USD 902" in ok.stdout


@pytest.mark.parametrize(
    ("section", "line", "message"),
    [
        ("[calendar]\n", 'unlisted_buildings = "maybe"\n', 'must be "default"'),
        ("[meetings]\n", 'providers_required = "yes"\n', "must be true or false"),
    ],
)
def test_the_new_keys_are_checked(
    sample_config: Path, section: str, line: str, message: str
) -> None:
    """A wrong value of the new keys is an error naming file, section and key."""
    text = sample_config.read_text(encoding="utf-8")
    sample_config.write_text(text.replace(section, section + line, 1), encoding="utf-8")
    with pytest.raises(UserError) as exc:
        load_config(sample_config)
    assert message in str(exc.value) and line.split()[0] in str(exc.value)
