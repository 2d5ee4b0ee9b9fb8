"""Which panels fit on which page, by terminal size.

A small terminal (80x24, a phone over SSH) shows counters and alarms first and
rotates the rest through further pages; a big one (a 4K terminal) shows all of it
at once, with as many camera thumbnails as fit.
"""

from __future__ import annotations

PANELS = ("counters", "alarms", "sla", "shift", "ticker", "cameras")


def size_class(width: int, height: int) -> str:
    if width < 110 or height < 34:
        return "small"
    if width < 170 or height < 50:
        return "medium"
    return "large"


def tall(height: int) -> bool:
    """Enough lines that the camera pictures may take two thirds of what is left."""
    return height >= 60


def pages_for(width: int, height: int) -> list[frozenset[str]]:
    size = size_class(width, height)
    if size == "small":
        return [frozenset({"counters", "alarms"}), frozenset({"sla"}),
                frozenset({"shift", "ticker"}), frozenset({"cameras"})]
    if size == "medium":
        return [frozenset({"counters", "alarms", "sla", "shift", "ticker"}),
                frozenset({"cameras"})]
    return [frozenset(PANELS)]
