"""Every command is documented in the README, and the README's set-up commands are the real ones."""

from __future__ import annotations

from pathlib import Path

import click

from iepsched.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subcommands(group: click.Group) -> list[tuple[str, click.Command]]:
    """Every subcommand, loading lazily registered ones as click itself does."""
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{name} is listed but does not load"
        found.append((name, command))
    return found


def _commands(group: click.Group, prefix: str = "iepsched") -> list[str]:
    found: list[str] = []
    for name, command in _subcommands(group):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
        else:
            found.append(path)
    return found


def test_every_command_is_documented_in_the_readme() -> None:
    """A command nobody can find in the README does not exist for its users."""
    missing = [c for c in _commands(main) if f"`{c}" not in README]
    assert missing == []


def test_every_command_has_a_docstring_example() -> None:
    """Each command's help carries an `Example:` line (STYLE habit 11)."""

    def leaves(group: click.Group) -> list[click.Command]:
        out: list[click.Command] = []
        for _, command in _subcommands(group):
            out.extend(leaves(command) if isinstance(command, click.Group) else [command])
        return out

    lacking = [c.name for c in leaves(main) if "Example:" not in (c.help or "")]
    assert lacking == []


def test_every_command_module_is_registered() -> None:
    """Each *_cmd module is reachable from `main` (a new module must be added to the map)."""
    from iepsched.cli.base import COMMAND_MODULES

    package = ROOT / "iepsched" / "cli"
    modules = {p.stem for p in package.glob("*_cmd.py")}
    assert modules == set(COMMAND_MODULES.values())


def test_readme_opens_with_the_two_setup_commands() -> None:
    """The first code block is exactly `make demo` and `make test`, and CI runs `make test`."""
    block = README.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
