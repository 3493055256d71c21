"""Running the CLI in-process, for the tests/test_cli_*.py files."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from hostile import SAMPLE_CONFIG

from iepsched.cli import main  # its commands load on first use (LazyGroup)

TODAY = "2026-11-30"  # the night the sample district is written around
SAMPLE = SAMPLE_CONFIG / "iepsched.toml"  # the repo's sample: for commands that write nothing


def cli(config: Path | None, *args: str) -> Result:
    """`iepsched [--config CONFIG] ARGS...`; an uncaught exception fails the test with its trace."""
    prefix = ["--config", str(config)] if config is not None else []
    return CliRunner().invoke(main, [*prefix, *args], catch_exceptions=False)


def state_file(config: Path) -> Path:
    """Where the sample config keeps its state, next to the config file."""
    return config.parent / "state" / "iepsched.sqlite"
