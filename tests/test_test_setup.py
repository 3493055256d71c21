"""conftest.py's promises: slow tests skipped only on a local run, and the Hypothesis profiles.

Each case runs a tiny suite, with a copy of tests/conftest.py, in a pytest subprocess (the
profiles are process-wide, so loading them here would change this run's).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent

INNER = """
import pytest
from hypothesis import settings


def test_quick():
    print("profile=" + settings.get_current_profile_name())


@pytest.mark.slow
def test_slow():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A copy of the test set-up with one quick and one slow test, run with a clean environment."""
    for name in ("conftest.py", "hostile.py"):
        shutil.copy(HERE / name, pytester.path / name)
    pytester.makepyfile(test_inner=INNER)
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n")
    for name in ("CI", "IEPSCHED_SLOW", "HYPOTHESIS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return pytester


def run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    return suite.runpytest_subprocess("-rs", "-s", *args)


def test_local_run_skips_slow_tests_and_says_how_to_run_them(suite: pytest.Pytester) -> None:
    """Without CI a slow test is skipped, with a closing line naming IEPSCHED_SLOW and make."""
    result = run(suite)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*skipped 1 slow tests: run them with IEPSCHED_SLOW=1 or *"])
    result.stdout.fnmatch_lines(["*make test-all*"])
    result.stdout.fnmatch_lines(["*profile=dev*"])


@pytest.mark.parametrize(
    ("env", "args", "profile"),
    [
        ({"CI": "true"}, (), "ci"),
        ({"IEPSCHED_SLOW": "1"}, (), "dev"),
        ({}, ("-m", "slow or not slow"), "dev"),
    ],
)
def test_ci_or_an_opt_in_runs_everything(
    suite: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    args: tuple[str, ...],
    profile: str,
) -> None:
    """CI, IEPSCHED_SLOW=1 or a -m naming slow runs the slow tests; CI uses the ci profile."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run(suite, *args)
    result.assert_outcomes(passed=2)
    assert "slow tests" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"*profile={profile}*"])


def test_hypothesis_profile_can_be_chosen(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HYPOTHESIS_PROFILE overrides the choice CI would make."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "dev")
    result = run(suite)
    result.stdout.fnmatch_lines(["*profile=dev*"])


def test_ci_profile_is_reproducible() -> None:
    """The ci profile derandomizes, keeps no database, prints the blob, and has no deadline."""
    from hypothesis import settings

    ci = settings.get_profile("ci")
    assert (ci.derandomize, ci.database, ci.print_blob, ci.deadline) == (True, None, True, None)
    assert settings.get_profile("dev").max_examples > ci.max_examples
