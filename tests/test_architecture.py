"""The dependency direction of STYLE.md: the pure core imports no adapter library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "iepsched"
CORE = (
    "model.py",
    "errors.py",
    "schoolcal.py",
    "rules.py",
    "schedule.py",
    "reconcile.py",
    "items.py",
)
FORBIDDEN = {
    *("requests", "sqlite3", "msal", "click", "icalendar", "holidays"),
    *("urllib", "socket", "http", "os", "subprocess"),
}


def _imports(path: Path) -> set[str]:
    """Top-level packages imported, and `.name` for modules of this package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.add("." + node.module.split(".")[0])
    return found


@pytest.mark.parametrize("name", CORE)
def test_core_module_imports_no_adapter_library(name: str) -> None:
    """The scheduling core and the reconcile step stay pure: no HTTP, SQL, CLI or OS imports."""
    assert _imports(PACKAGE / name) & FORBIDDEN == set()


@pytest.mark.parametrize("name", CORE)
def test_core_module_imports_only_core_modules(name: str) -> None:
    """The core depends on nothing but the core, so nothing impure comes in transitively."""
    local = {m for m in _imports(PACKAGE / name) if m.startswith(".")}
    allowed = {"." + c.removesuffix(".py") for c in CORE} | {".remote"}
    assert local - allowed == set()


def test_remote_port_is_pure_too() -> None:
    """remote.py (the port's values) is imported by the core, so it must stay pure as well."""
    assert _imports(PACKAGE / "remote.py") & FORBIDDEN == set()
    local = {m for m in _imports(PACKAGE / "remote.py") if m.startswith(".")}
    assert local <= {"." + c.removesuffix(".py") for c in CORE}


@pytest.mark.parametrize("name", CORE)
def test_core_module_never_reads_the_clock(name: str) -> None:
    """Only the CLI reads the clock: the core takes `today` (no now()/today() calls)."""
    text = (PACKAGE / name).read_text(encoding="utf-8")
    for call in ("date.today(", "datetime.now(", "datetime.today(", "time.time(", "dt.date.today("):
        assert call not in text, f"{name} calls {call}"


def _reads_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            return True
    return False


def test_only_the_cli_reads_the_environment() -> None:
    """Secrets and settings come from the environment only through iepsched/cli/."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "cli" not in path.relative_to(PACKAGE).parts and _reads_environment(path)
    ]
    assert offenders == []
