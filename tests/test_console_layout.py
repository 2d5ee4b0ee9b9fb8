"""What the console shows in the room it has: the queue's columns follow the
terminal's width (reference and description when there is space, names not cut),
the footer keeps F2-F5 in sight at 80x24, and help scrolls to its last key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Static

from tests.test_console_app import queue_ready, signed_in
from tests.test_console_support import wait_for
from tui.app import PantauApp
from tui.screens.modals import HelpModal
from tui.widgets.footer import LocalFooter
from tui.widgets.queue_columns import PADDING, SCROLLBAR, plan_columns

NATURAL = {"category": 31, "district": 16, "dept": 11, "ref": 14}


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(home))
    return home


@pytest.mark.parametrize("width", [80, 100, 120, 160, 200, 300])
def test_the_columns_fill_the_width_and_never_overflow_it(width: int) -> None:
    plan = plan_columns(width, NATURAL)
    used = sum(w + PADDING for w in plan.values()) + SCROLLBAR
    assert used <= width
    if "description" in plan:
        assert used == width  # the description takes what is left
    assert plan["category"] <= NATURAL["category"] and plan["district"] <= NATURAL["district"]


def test_80_columns_keep_triage_columns_200_add_reference_and_description() -> None:
    narrow = plan_columns(80, NATURAL)
    assert list(narrow) == ["prio", "sla", "status", "category", "dept", "district", "age",
                            "channel"]
    assert narrow["category"] >= 15 and narrow["district"] >= 12
    wide = plan_columns(200, NATURAL)
    assert list(wide)[:2] == ["prio", "ref"] and list(wide)[-1] == "description"
    assert wide["ref"] == NATURAL["ref"]
    assert (wide["category"], wide["district"], wide["dept"]) == (31, 16, 11)
    assert wide["description"] >= 60


async def test_at_200_columns_the_queue_shows_references_descriptions_and_whole_names(
        api: Any) -> None:
    await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=(200, 50)) as pilot:
        table = await queue_ready(app, pilot)
        await wait_for(lambda: app.store.complete and "description" in table.plan
                       and app.reference_loaded, pilot=pilot)
        await pilot.pause(0.1)
        for ticket_id, ticket in table.shown.items():
            row = dict(zip(table.plan, table.get_row(str(ticket_id)), strict=True))
            assert str(row["ref"]) == ticket["reference"]
            first_line = ticket["description"].strip().splitlines()[0]
            assert str(row["description"]) == first_line
            category = ticket["category"]["name_en"]
            assert str(row["category"]) == category
            assert len(category) <= table.plan["category"], category  # shown whole
            district = (ticket["district"] or {}).get("name") or "-"
            assert len(district) <= table.plan["district"], district
            assert len(ticket["reference"]) <= table.plan["ref"]
        longest = max(len(c["name_en"]) for c in app.reference["categories"])
        assert table.plan["category"] == min(longest, 32)
        # Narrower again: the reference and description give way, nothing overflows.
        await pilot.resize_terminal(80, 24)
        await wait_for(lambda: "ref" not in table.plan, pilot=pilot)
        assert table.virtual_size.width <= table.size.width
        assert table.row_count == len(table.shown)


async def test_at_80x24_every_screen_shows_f2_to_f5_and_help_scrolls_to_its_end(
        api: Any) -> None:
    await signed_in(api, "operator")
    app = PantauApp(api.base, language="id")  # the longer labels
    async with app.run_test(size=(80, 24)) as pilot:
        await queue_ready(app, pilot)
        for key in ("f2", "f3", "f4", "f5"):
            await pilot.press(key)
            await pilot.pause(0.3)
            footer = next(f for f in app.screen.query(LocalFooter) if f.scope == "app")
            shown = {k.key: k.region for k in footer.children if k.display}
            for fkey in ("f1", "f2", "f3", "f4", "f5"):
                region = shown[fkey]
                assert region.width > 0 and region.right <= 80 and region.y < 24, (key, fkey)
            await pilot.press("f1")
            await wait_for(lambda: isinstance(app.screen, HelpModal), pilot=pilot)
            box = app.screen.query_one(VerticalScroll)
            body = box.children[-1]  # the rows (the title above is a Label)
            assert isinstance(body, Static)
            await pilot.press("G")
            await pilot.pause(0.2)
            last_line = body.virtual_region.bottom - 1
            visible = box.scrollable_content_region.height
            assert box.scroll_y <= last_line < box.scroll_y + visible, key
            await pilot.press("g")
            await pilot.pause(0.2)
            assert box.scroll_y == 0
            await pilot.press("escape")
            await wait_for(lambda: not isinstance(app.screen, HelpModal), pilot=pilot)
