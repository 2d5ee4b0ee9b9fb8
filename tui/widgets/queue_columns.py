"""Which queue columns to show, and how wide, for the width the terminal has.

At 80 columns the queue shows what triage needs (priority, SLA, status, category,
department, district, age, channel); with more room the reference comes in,
category and district grow to their longest names, and the first line of the
description takes the rest. Pure functions, so the rule is tested without a screen.
"""

from __future__ import annotations

from typing import Any

# Column key -> catalogue key of its header, in the order they are shown.
LABELS = {"prio": "col.priority", "ref": "col.reference", "sla": "col.sla",
          "status": "col.status", "category": "col.category", "dept": "col.department",
          "district": "col.district", "age": "col.age", "channel": "col.channel",
          "description": "col.description"}
FIXED = {"prio": 2, "sla": 6, "status": 8, "dept": 7, "age": 5}
MINIMUM = {"category": 12, "district": 10, "channel": 7}
# Longest names the columns grow to before the description gets the rest.
CAPS = {"category": 32, "district": 18, "dept": 12, "ref": 16, "channel": 10}
DEFAULT_NATURAL = {"category": 24, "district": 16, "dept": 11, "ref": 14, "channel": 7}
DESCRIPTION_MIN = 20
PADDING = 2  # DataTable's cell padding, one cell either side
SCROLLBAR = 2  # kept free for the vertical scrollbar, so no row is ever cut


def plan_columns(width: int, natural: dict[str, int] | None = None) -> dict[str, int]:
    """Column key -> width for a table `width` cells wide.

    `natural` holds the longest category, district, department code, reference and
    channel there are (see `natural_widths`, and TicketTable.replan for the last
    two); widths never exceed them, nor CAPS.
    """
    want = {**DEFAULT_NATURAL, **(natural or {})}
    want = {key: max(1, min(value, CAPS.get(key, value))) for key, value in want.items()}
    widths = {**FIXED, **MINIMUM}
    left = width - SCROLLBAR - sum(w + PADDING for w in widths.values())

    def grow(key: str, target: int) -> None:
        nonlocal left
        extra = max(0, min(target - widths[key], left))
        widths[key] += extra
        left -= extra

    grow("district", min(12, want["district"]))
    grow("channel", want["channel"])  # a cut channel reads as nothing; a cut category still reads
    grow("category", min(18, want["category"]))
    grow("district", min(14, want["district"]))
    if left >= want["ref"] + PADDING:
        widths["ref"] = want["ref"]
        left -= want["ref"] + PADDING
    grow("category", want["category"])
    grow("district", want["district"])
    grow("dept", want["dept"])
    if left >= DESCRIPTION_MIN + PADDING:
        widths["description"] = left - PADDING
    return {key: widths[key] for key in LABELS if key in widths}


def natural_widths(reference: dict[str, list[dict[str, Any]]], language: str) -> dict[str, int]:
    """The longest entry of each sized column, from the reference lists when loaded."""
    name = "name" if language == "id" else "name_en"
    out: dict[str, int] = {}
    categories = [str(c.get(name) or c.get("name") or "") for c in reference.get("categories", [])]
    districts = [str(d.get("name") or "") for d in reference.get("districts", [])]
    departments = [str(d.get("code") or "") for d in reference.get("departments", [])]
    for key, values in (("category", categories), ("district", districts),
                        ("dept", departments)):
        if values:
            out[key] = max(len(v) for v in values)
    return out
