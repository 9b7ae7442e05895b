"""What a browser would fetch to show an HTML page: nothing, for a self-contained one."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

_URL_IN_CSS = re.compile(r"url\(|@import", re.IGNORECASE)


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []  # addresses the page loads as it opens
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "srcset", "data", "poster"):
            if values.get(name):
                self.fetched.append(values[name] or "")
        if tag == "link" and values.get("href"):
            self.fetched.append(values["href"] or "")
        if tag == "img":
            self.images.append(values.get("src") or "")
        if _URL_IN_CSS.search(values.get("style") or ""):
            self.fetched.append(values["style"] or "")

    def handle_data(self, data: str) -> None:
        if _URL_IN_CSS.search(data):
            self.fetched.append(data)


def fetched_resources(page: str) -> list[str]:
    """Every address the page would load that is not inline data."""
    parser = _Resources()
    parser.feed(page)
    return [address for address in parser.fetched if not address.startswith("data:")]


def inline_pngs(page: str) -> list[bytes]:
    """The page's <img> pictures, decoded; an image that is not an inline PNG fails the caller's check."""
    parser = _Resources()
    parser.feed(page)
    prefix = "data:image/png;base64,"
    return [base64.b64decode(src.removeprefix(prefix)) if src.startswith(prefix) else b"" for src in parser.images]
