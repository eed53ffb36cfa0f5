"""A division code with its place name, in the page's language (issue 16, point 15).

``region_label("330106", "zh")`` → ``330106 西湖区``; ``region_label("330106", "en")`` →
``330106 Xihu District``. GB/T 2260 (read through ``stdnum``) has the Chinese names only; the
English names are those of :data:`quan.domain.place_names.ENGLISH` (Zhejiang's cities, Hangzhou's
districts and counties, where the project's programs run). An English page showing a division
the table does not know keeps its Chinese name: a place name is never dropped.
"""

from __future__ import annotations

from quan.domain.eligibility import region_name
from quan.domain.place_names import ENGLISH


def place_name(code: str, lang: str = "zh") -> str | None:
    """The division's name in ``lang`` (Chinese when no English name is known)."""
    name = region_name(code)
    if name is None or lang != "en":
        return name
    return ENGLISH.get(name, name)


def region_label(code: str, lang: str = "zh") -> str:
    """``330106 西湖区`` / ``330106 Xihu District``; the bare code when the table has no name."""
    name = place_name(code, lang)
    return f"{code} {name}" if name else code
