"""Shared test set-up: a hermetic environment, the Hypothesis profiles, slow tests, CLI fixtures.

CI (any non-empty `CI` variable, as .ci/run and CI services set it) runs every test with the
reproducible "ci" Hypothesis profile. A local run uses the "dev" profile (more examples, random)
and skips the tests marked slow unless IEPSCHED_SLOW=1 (`make test-all`) or `-m slow` asks for
them, so that `make test` stays quick on a laptop.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest
from hostile import copy_sample
from hypothesis import settings

ON_CI = bool(os.environ.get("CI"))  # the same rule as tests/test_report_browser.py

# "ci": the same examples on every run (derandomize), no example database to carry between runs,
# and a failure prints the blob that replays it. "dev": more examples, fresh ones each run.
# Neither has a deadline: the machines are shared and a slow example is not a wrong one.
settings.register_profile(
    "ci", derandomize=True, database=None, max_examples=100, print_blob=True, deadline=None
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if ON_CI else "dev"))

SLOW_HINT = "run them with IEPSCHED_SLOW=1 or `make test-all` (CI always runs them)"
_SKIPPED_SLOW = pytest.StashKey[int]()


def _run_slow(config: pytest.Config) -> bool:
    asked = "slow" in (config.option.markexpr or "")  # `-m slow` means it
    return ON_CI or os.environ.get("IEPSCHED_SLOW", "") not in ("", "0") or asked


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the slow tests on a local run (see the module docstring)."""
    if _run_slow(config):
        return
    skip = pytest.mark.skip(reason=f"slow: {SLOW_HINT}")
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    for item in slow:
        item.add_marker(skip)
    config.stash[_SKIPPED_SLOW] = len(slow)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> Generator[None]:
    """Say plainly that slow tests were left out, and how to run them (after the -ra list)."""
    yield
    skipped = config.stash.get(_SKIPPED_SLOW, 0)
    if skipped:
        terminalreporter.write_line(f"skipped {skipped} slow tests: {SLOW_HINT}", yellow=True)


@pytest.fixture(autouse=True)
def _hermetic_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test gets its own cache folder and ignores the user's IEPSCHED_CONFIG."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv("IEPSCHED_CONFIG", raising=False)
    return folder


@pytest.fixture
def sample_config(tmp_path: Path) -> Path:
    """A private copy of the sample district's config/ (any state file lands under tmp)."""
    return copy_sample(tmp_path)
