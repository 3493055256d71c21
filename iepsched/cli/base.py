"""The top-level `iepsched` group and what every command shares.

This package is the only place that reads the clock, the environment and argv (STYLE habit 1).
Library errors become messages here: `UserError` prints its problems and exits 2 without a
traceback; anything else is a bug and shows its traceback only with `-v`.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..core.errors import ExitCode, UserError

if TYPE_CHECKING:
    from ..core.settings import Config

F = TypeVar("F", bound=Callable[..., Any])

# Names the other commands import; the values are ExitCode's.
EXIT_OK, EXIT_USAGE = ExitCode.OK, ExitCode.USAGE
log = logging.getLogger("iepsched")


@dataclass
class AppContext:
    """Options of the top-level command, handed to every subcommand."""

    config_option: str | None = None
    verbosity: int = 0
    _config: Config | None = field(default=None, repr=False)

    def config_path(self) -> Path:
        """--config, else $IEPSCHED_CONFIG, else ./config/iepsched.toml (SPEC §2.1)."""
        if self.config_option:
            return Path(self.config_option)
        env = os.environ.get("IEPSCHED_CONFIG")
        if env:
            return Path(env)
        return Path.cwd() / "config" / "iepsched.toml"

    def config(self) -> Config:
        """Load and validate the config once; its warnings are logged once."""
        if self._config is None:
            from ..inputs.config import load_config

            self._config = load_config(self.config_path())
            for problem in self._config.warnings:
                log.warning("%s", problem)
        return self._config


# Commands that load, plan and print, then exit: they build no reference cycles to speak of.
_ONE_SHOT = frozenset({"plan", "report", "export"})


def _tune_gc(ctx: click.Context) -> None:
    """Collect reference cycles less often, or (one-shot commands) not at all until the command
    ends. A command builds hundreds of thousands of long-lived values (the roster's students, the
    plan's milestones) that hold no cycles, and the collector would scan them again and again as
    they accumulate: about a tenth of `plan --all` for 10,000 students (issue 10.7), for nothing.
    Elsewhere (sync, the sandbox) collection stays on, after 100,000 new container objects
    instead of 700. The settings are restored when the command ends (tests run many in one
    process)."""
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    if ctx.invoked_subcommand in _ONE_SHOT:
        gc.disable()
    else:
        gc.set_threshold(100_000)  # generations 1 and 2 keep their defaults

    def restore() -> None:
        gc.set_threshold(*threshold)
        if enabled:
            gc.enable()

    ctx.call_on_close(restore)


def _setup_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("iepsched")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def handle_errors(func: F) -> F:
    """Turn expected failures into a message and an exit code, without a traceback.

    Bad input or config, Graph refusing the app's credentials, or Graph unreachable or throttled
    past the retry budget: exit 2 — nothing (more) was written; exit 1 is kept for "some items
    failed, the rest applied".
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..core.errors import GraphAuthError, GraphError

        try:
            return func(*args, **kwargs)
        except UserError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(ExitCode.USAGE)
        except GraphAuthError as exc:
            click.echo(f"error: Microsoft Graph refused the app: {exc}", err=True)
            click.echo(
                "Check [graph] tenant_id, client_id and authority, the certificate or "
                "IEPSCHED_CLIENT_SECRET, and the app's admin consent (`iepsched auth status`).",
                err=True,
            )
            sys.exit(ExitCode.USAGE)
        except GraphError as exc:
            click.echo(f"error: Microsoft Graph: {exc}", err=True)
            click.echo(
                "Nothing more was written in this run; the next run starts again from what "
                "Microsoft 365 holds.",
                err=True,
            )
            sys.exit(ExitCode.USAGE)

    return cast(F, wrapper)


def app(ctx: click.Context) -> AppContext:
    """The AppContext of the running command."""
    obj = ctx.find_object(AppContext)
    if obj is None:  # pragma: no cover - click always builds it through `main`
        obj = AppContext()
    return obj


def parse_day(value: str, option: str = "--today") -> dt.date:
    """A YYYY-MM-DD option value, or a usage error naming the option."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date like 2026-09-01", param_hint=option
        ) from None


def resolve_today(value: str | None, config: Config) -> dt.date:
    """--today, else today's date in the district's time zone (the only clock read)."""
    if value:
        return parse_day(value)
    return dt.datetime.now(config.district.tz).date()


today_option = click.option(
    "--today",
    metavar="YYYY-MM-DD",
    help="Plan as if today were this date (default: today in the district's time zone).",
)


# Each command's module, imported only when that command runs (or help lists them all): start-up
# time is measured, and `iepsched plan` should not pay for the sync or report machinery.
COMMAND_MODULES: dict[str, str] = {
    "auth": "auth_cmd",
    "calendar": "calendar_cmd",
    "config": "config_cmd",
    "contact": "contact_cmd",
    "demo": "demo_cmd",
    "doctor": "doctor_cmd",
    "export": "export_cmd",
    "notice": "notice_cmd",
    "plan": "plan_cmd",
    "report": "report_cmd",
    "runs": "runs_cmd",
    "sandbox": "sandbox_cmd",
    "sync": "sync_cmd",
    "delay": "delay_cmd",
    "meeting": "meeting_cmd",
}


class LazyGroup(click.Group):
    """A group whose commands register themselves when their module is first imported."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            import importlib

            importlib.import_module(f"{__package__}.{COMMAND_MODULES[cmd_name]}")
        return self.commands.get(cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_option",
    metavar="PATH",
    help="Config file (default: $IEPSCHED_CONFIG, else ./config/iepsched.toml).",
)
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug, with tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(package_name="iepsched")
@click.pass_context
def main(ctx: click.Context, config_option: str | None, verbose: int, quiet: bool) -> None:
    """iepsched: backward-scheduled IEP timelines, delivered into Microsoft 365."""
    verbosity = -1 if quiet else verbose
    _setup_logging(verbosity)
    _tune_gc(ctx)
    ctx.obj = AppContext(config_option=config_option, verbosity=verbosity)
