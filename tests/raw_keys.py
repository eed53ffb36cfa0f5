"""Finding message keys shown instead of words (``office.confirm.pause.title``) in a page.

A template that composes a key (``t("office.confirm." ~ action ~ ".title")``) escapes the static
check of ``tests/integration/test_console.py``, which only sees literal keys; an unknown key is
shown as itself (:class:`quan.web.i18n.Translator`). So the rendered page is read instead: any
word shaped like a key of the catalogue (a known first part, a dot, more lowercase parts) in the
text a person reads or hears — text outside ``code``/``pre``/``kbd``/``samp`` and the ``mono``
class (machine text: ids, hashes, a log entry's raw type), the title, and the ``aria-label``,
``title``, ``alt`` and ``placeholder`` attributes — is a raw key.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from quan.web.messages import MESSAGES

_PREFIXES = sorted({key.split(".", 1)[0] for key in MESSAGES if "." in key})
RAW_KEY = re.compile(
    r"(?<![\w./:@-])(?:" + "|".join(map(re.escape, _PREFIXES)) + r")(?:\.[a-z0-9_]+)+(?![\w/-])"
)
_VERBATIM = {"code", "pre", "kbd", "samp", "script", "style"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}
_READ = ("aria-label", "title", "alt", "placeholder")


class _Reader(HTMLParser):
    """Collects what a person reads; machine text (``code`` and the like, or an element of the
    console's ``mono`` class: ids, hashes, a log entry's raw type) is left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []  # (tag, machine text)
        self.read: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.read += [value for name, value in attrs if name in _READ and value]
        if tag in _VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        self.open.append((tag, tag in _VERBATIM or "mono" in classes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.read += [value for name, value in attrs if name in _READ and value]

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not any(machine for _, machine in self.open):
            self.read.append(data)


def raw_keys(html: str) -> list[str]:
    """The raw message keys a person would read in ``html``, in order."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return [m.group(0) for text in reader.read for m in RAW_KEY.finditer(text)]
