"""The floors of ARCHITECTURE.md: each sub-package imports only from the floors below it.

core, fs  <-  inputs, state, outputs, m365  <-  service  <-  cli
sandbox stands apart: a Graph emulator that shares only Microsoft's schema with m365.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "iepsched"

FLOORS: dict[str, set[str]] = {
    "core": {"core"},
    "fs": {"fs"},
    "inputs": {"core", "fs", "inputs"},
    "state": {"core", "fs", "state"},
    "outputs": {"core", "fs", "outputs"},
    "m365": {"core", "fs", "m365"},
    "service": {"core", "fs", "inputs", "state", "outputs", "m365", "service"},
    "sandbox": {"sandbox", "m365.schema"},
    "cli": {"core", "fs", "inputs", "state", "outputs", "m365", "service", "sandbox", "cli"},
}
# The core does no I/O: no HTTP, SQL, CLI, OS or file-format libraries.
CORE_FORBIDDEN = {
    *("requests", "sqlite3", "msal", "click", "icalendar", "holidays", "jsonschema"),
    *("urllib", "socket", "http", "os", "subprocess", "shutil", "tempfile", "io", "csv"),
    *("tomllib", "logging", "time", "threading"),
}
# Reading files is I/O too, whatever module does it.
FILE_READS = ("open(", ".read_text(", ".read_bytes(", ".write_text(", ".write_bytes(")


def _modules(floor: str) -> list[Path]:
    return sorted((PACKAGE / floor).rglob("*.py"))


def _package_of(path: Path) -> list[str]:
    return ["iepsched", *path.relative_to(PACKAGE).parent.parts]


def _is_module(dotted: str) -> bool:
    parts = dotted.split(".")
    if parts[0] != "iepsched":
        return False
    where = PACKAGE.joinpath(*parts[1:])
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def _imports(path: Path, package: list[str] | None = None) -> set[str]:
    """Every module imported, as a dotted name (`iepsched.core.model`, `requests`, ...).

    `from P import x` counts as importing P.x when that is a module, else as importing P.
    """
    package = package or _package_of(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            prefix = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                candidate = f"{prefix}.{alias.name}"
                found.add(candidate if _is_module(candidate) else prefix)
    return found


def _floor_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "iepsched" or len(parts) < 2:
        return None
    return parts[1]


def _allowed(module: str, allowed: set[str]) -> bool:
    rest = module.split(".", 1)[1]
    return any(rest == a or rest.startswith(a + ".") for a in allowed)


ALL_FLOORS = sorted(FLOORS)


def test_every_module_lives_on_a_floor() -> None:
    """The package root holds no modules but __init__: every module sits on a named floor."""
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    floors = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} - {"data"}
    assert floors == set(FLOORS)


@pytest.mark.parametrize("floor", ALL_FLOORS)
def test_floor_imports_only_floors_below_it(floor: str) -> None:
    """Dependencies point one way (STYLE.md): a floor imports only itself and the floors below."""
    bad = []
    for path in _modules(floor):
        for module in _imports(path):
            if _floor_of(module) is None or module.split(".")[1] == "data":
                continue
            if not _allowed(module, FLOORS[floor]):
                bad.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert bad == []


def test_core_imports_no_io_library() -> None:
    """The core stays pure: no HTTP, SQL, CLI, OS, logging or file-format library."""
    bad = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in _modules("core")
        for module in _imports(path)
        if module.split(".")[0] in CORE_FORBIDDEN
    ]
    assert bad == []


def test_core_reads_no_files() -> None:
    """The core reads and writes no files: inputs hand it values."""
    bad = [
        f"{path.relative_to(PACKAGE)}: {call}"
        for path in _modules("core")
        for call in FILE_READS
        if call in path.read_text(encoding="utf-8")
    ]
    assert bad == []


def test_core_never_reads_the_clock() -> None:
    """Only the CLI reads the clock: the core takes `today` (no now()/today() calls)."""
    calls = ("date.today(", "datetime.now(", "datetime.today(", "time.time(", "monotonic(")
    bad = [
        f"{path.relative_to(PACKAGE)}: {call}"
        for path in _modules("core")
        for call in calls
        if call in path.read_text(encoding="utf-8")
    ]
    assert bad == []


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


def test_the_import_checker_sees_a_violation(tmp_path: Path) -> None:
    """The checker itself bites: relative imports across floors are resolved and refused."""
    fake = tmp_path / "x.py"
    fake.write_text("from ..state.store import StateStore\nfrom . import rules\n", encoding="utf-8")
    found = _imports(fake, package=["iepsched", "core"])
    assert found == {"iepsched.state.store", "iepsched.core.rules"}
    assert not _allowed("iepsched.state.store", FLOORS["core"])
    assert _allowed("iepsched.core.rules", FLOORS["core"])
