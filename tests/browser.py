"""Headless Chromium for the browser tests: where it is, and one way to run it on a page."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def find_chromium() -> str:
    """The chromium binary; a missing one fails under CI (which must install it), else skips."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must install it (apt-get install chromium)")
        pytest.skip("chromium is not installed (install it to run the browser test)")
    return found


def render(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a fresh profile and no background networking (the machine
    has no network: without these flags it keeps trying to reach Google's hosts)."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
