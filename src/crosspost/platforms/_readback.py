"""What the adapters share to read published HTML back as the text readers see.

The exposure audit runs the guard over what a target has published; blogs and feeds hand it
HTML. Readers see the text, each link's address (shown on hover, and where it leads) and each
image's description (read aloud by screen readers), so all three are kept: a link becomes its
text followed by its address, an image its ``alt``.
"""

from __future__ import annotations

from html.parser import HTMLParser

#: elements that end a line of text
_BLOCKS = frozenset({"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote"})
#: elements whose content readers never see
_HIDDEN = frozenset({"script", "style", "template"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.alts: list[str] = []
        self._hrefs: list[str | None] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br" or tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "img":
            alt = (a.get("alt") or "").strip()
            if alt:
                self.alts.append(alt)
        elif tag == "a":
            self._hrefs.append(a.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self._hrefs:
            href = self._hrefs.pop()
            if href and href.startswith(("http://", "https://", "mailto:")):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text(html: str) -> tuple[str, tuple[str, ...]]:
    """``(text, image descriptions)`` of an HTML fragment, links followed by their address."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line), tuple(parser.alts)
