"""The README's images and links to files in the repository point at files that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_local_links_and_images_exist() -> None:
    """A screenshot or file link in the README that points nowhere shows a broken image."""
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", README)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:|#", t)]
    assert local, "the README links no local file (the screenshot at least)"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert missing == []
