"""Reading a written notice back as the family sees it: the visible text of each page."""

from __future__ import annotations

from html.parser import HTMLParser


class _Pages(HTMLParser):
    """Collects the visible text of each `<section class="page" id=...>`, by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pages: dict[str, list[str]] = {}
        self._current: str | None = None
        self._skip = 0  # inside <style> or <script>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and "page" in (found.get("class") or "").split():
            self._current = found.get("id") or str(len(self.pages))
            self.pages[self._current] = []
        elif tag in ("style", "script"):
            self._skip += 1
        elif tag in ("br", "li", "p", "tr", "td", "th", "h1", "h2", "address"):
            self._text(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._current = None
        elif tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        self._text(data)

    def _text(self, data: str) -> None:
        if self._current is not None and not self._skip:
            self.pages[self._current].append(data)


def pages(html: str) -> dict[str, str]:
    """{"notice": letter text, "contacts": contact-log text}, whitespace folded to one space."""
    parser = _Pages()
    parser.feed(html)
    return {k: " ".join("".join(v).split()) for k, v in parser.pages.items()}
