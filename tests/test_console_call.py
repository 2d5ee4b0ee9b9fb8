"""The 112 call form against the real server: few keys for a call, one for a call that
is no emergency, nothing carried from one caller to the next, and a form an operator
can read at a glance (labels always shown, the field with focus unmistakable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.color import Color
from textual.widgets import Input, Label, TextArea

from tests.test_console_app import SIZE, queue_ready, signed_in
from tests.test_console_support import wait_for
from tui.app import PantauApp
from tui.screens.call import CallScreen
from tui.widgets.fields import FieldRow, PickInput

# What the call-taker types, and the keys that are not typing (counted in the README).
TYPICAL_CALL = [*"081234567890", "enter", *"Budi", "enter", *"Jl. Braga 5", "enter",
                *"sumur", "enter", *"keb", "enter", *"Ruko terbakar, asap tebal", "ctrl+s"]
TYPICAL_NAVIGATION = ["enter"] * 5 + ["ctrl+s"]
PRANK_CALL = [*"0899111222", "f6"]


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(home))
    return home


async def call_screen(app: PantauApp, pilot: Any) -> CallScreen:
    await queue_ready(app, pilot)
    await wait_for(lambda: bool(app.reference.get("districts"))
                   and bool(app.reference.get("categories")), pilot=pilot)
    await pilot.press("f3")
    await wait_for(lambda: isinstance(app.screen, CallScreen), pilot=pilot)
    screen = app.screen
    assert isinstance(screen, CallScreen)
    return screen


def row_of(screen: CallScreen, field_id: str) -> FieldRow:
    field = screen.query_one(f"#{field_id}")
    return next(a for a in field.ancestors if isinstance(a, FieldRow))


def label_of(screen: CallScreen, field_id: str) -> Label:
    return row_of(screen, field_id).query_one(".field-label", Label)


def accent(app: PantauApp) -> Color:
    return Color.parse(app.theme_variables["accent"])


async def test_a_typical_call_and_a_prank_call_take_few_keys_and_share_nothing(
        api: Any) -> None:
    token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_screen(app, pilot)
        # Opens on the first field, and shows it.
        assert app.focused is screen.query_one("#call-phone")
        assert row_of(screen, "call-phone").has_class("-focus")
        await pilot.pause(0.1)
        assert label_of(screen, "call-phone").styles.background == accent(app)

        navigation = [k for k in TYPICAL_CALL if len(k) > 1]
        assert navigation == TYPICAL_NAVIGATION  # 6 keys that are not typing, no Tab
        await pilot.press(*TYPICAL_CALL[:-1])
        # Every label still reads while its field holds text; only one row is marked.
        for field_id, text in (("call-phone", "Caller no."), ("call-address", "Location"),
                               ("call-district", "District"), ("call-category", "Category")):
            label = label_of(screen, field_id)
            assert str(label.render()) == text and label.region.width > 0
            assert screen.query_one(f"#{field_id}", Input).value
            assert not row_of(screen, field_id).has_class("-focus")
        assert app.focused is screen.query_one("#call-what", TextArea)
        assert screen.query_one("#call-what-block").has_class("-focus")
        assert screen.query_one("#call-district", Input).value == "Sumur Bandung"
        await pilot.press(TYPICAL_CALL[-1])
        await wait_for(lambda: screen.filed is not None, pilot=pilot)
        fire = screen.filed or {}
        assert fire["category"]["code"] == "kebakaran" and fire["priority"] == 1
        assert fire["district"]["code"] == "sumur-bandung"
        assert "filed as" in str(screen.query_one("#call-state").render()).lower()
        assert screen.query_one("#call-phone", Input).disabled  # filed: edits reach nobody

        # ctrl+r: the next caller starts from nothing at all.
        await pilot.press("ctrl+r")
        await wait_for(lambda: app.focused is screen.query_one("#call-phone"), pilot=pilot)
        assert all(box.value == "" for box in screen.query(Input))
        assert all(box.chosen is None for box in screen.query(PickInput))
        assert screen.query_one("#call-what", TextArea).text == ""
        assert screen.filed is None
        await pilot.press(*PRANK_CALL)  # a prank: the caller's number and one key
        await wait_for(lambda: any((tk.get("reporter") or {}).get("phone") == "0899111222"
                                   and tk["status"] == "closed"
                                   for tk in app.store.tickets.values()), pilot=pilot)
        await wait_for(lambda: app.focused is screen.query_one("#call-phone"), pilot=pilot)
    _, body = await api.get("/api/tickets", params={"status": "closed", "channel": "call112"},
                            token=token)
    prank = [tk for tk in body["items"] if (tk["reporter"] or {}).get("phone") == "0899111222"]
    assert len(prank) == 1
    assert prank[0]["close_reason"] == "prank" and prank[0]["description"] == "Prank call"
    # Nothing of the fire call before it: no category, no district, not its P1.
    assert prank[0]["category"] is None and prank[0]["district"] is None
    assert prank[0]["priority"] != 1
    _, real = await api.get(f"/api/tickets/{fire['id']}", token=token)
    assert real["status"] == "new" and real["reporter"]["phone"] == "081234567890"
    assert real["reporter"]["name"] == "Budi" and real["address"] == "Jl. Braga 5"


async def test_every_close_key_works_from_any_field(api: Any) -> None:
    token = await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_screen(app, pilot)
        # From the phone field, the district picker and the description box.
        plans = [("f7", [*"0811000001"]),
                 ("f8", [*"0811000002", "enter", "enter", "enter", *"cob"]),
                 ("f9", [*"0811000003", "enter", "enter", "enter", "enter", "enter",
                         *"sama dengan tadi"])]
        for key, typed in plans:
            await pilot.press(*typed, key)
            phone = "".join(typed[:10])
            await wait_for(lambda p=phone: any(  # type: ignore[misc]
                (tk.get("reporter") or {}).get("phone") == p and tk["status"] == "closed"
                for tk in app.store.tickets.values()), pilot=pilot)
            await wait_for(lambda: screen.query_one("#call-phone", Input).value == ""
                           and app.focused is screen.query_one("#call-phone"), pilot=pilot)
    _, body = await api.get("/api/tickets", params={"status": "closed", "channel": "call112"},
                            token=token)
    reasons = {(tk["reporter"] or {}).get("phone"): (tk["close_reason"], tk["description"])
               for tk in body["items"]}
    assert reasons["0811000001"] == ("information", "Asked for information")
    assert reasons["0811000002"] == ("wrong_number", "Wrong number")
    assert reasons["0811000003"] == ("duplicate", "sama dengan tadi")


async def test_a_pick_field_takes_only_what_matches(api: Any) -> None:
    await signed_in(api, "operator")
    app = PantauApp(api.base, language="id")
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_screen(app, pilot)
        await pilot.press("enter", "enter", "enter", *"zzzq", "enter")
        district = screen.query_one("#call-district", PickInput)
        assert district.chosen is None  # nothing matches: says so, under the field
        assert row_of(screen, "call-district").has_class("-warn")
        assert district.value == "zzzq"
        await pilot.press("shift+tab", *["backspace"] * 4, *"kidul")
        hint = str(row_of(screen, "call-district").query_one(".field-hint", Label).render())
        assert hint.startswith("→ ") and "Kidul" in hint and "juga" in hint  # Indonesian
        await pilot.press("enter")
        assert district.value.endswith("Kidul") and district.chosen is not None
        assert app.focused is screen.query_one("#call-category")
        await pilot.press(*"fire")  # English names answer too
        category = screen.query_one("#call-category", PickInput)
        assert category.chosen is not None and category.chosen.value == "kebakaran"


async def test_keys_that_arrive_in_one_burst_land_in_their_own_fields(api: Any) -> None:
    """Over SSH keys arrive in bursts: everything after an enter belongs to the next
    field even when the field before has not yet processed what came before it."""
    await signed_in(api, "operator")
    app = PantauApp(api.base, language="en")
    async with app.run_test(size=SIZE) as pilot:
        screen = await call_screen(app, pilot)
        burst = [*"081234567890", "enter", *"Budi", "enter", *"Jl. Braga 5", "enter",
                 *"sumur", "enter", *"keb", "enter", *"Ruko terbakar"]
        for key in burst:  # as the terminal driver hands them over, without waiting
            character = " " if key == "space" else (key if len(key) == 1 else None)
            app.post_message(events.Key(key if len(key) > 1 else _key_name(key), character))
        await wait_for(lambda: screen.query_one("#call-what", TextArea).text
                       == "Ruko terbakar", pilot=pilot)
        values = {box.id: box.value for box in screen.query(Input)}
        assert values == {"call-phone": "081234567890", "call-name": "Budi",
                          "call-address": "Jl. Braga 5", "call-district": "Sumur Bandung",
                          "call-category": "Fire · P1"}


def _key_name(character: str) -> str:
    """Textual's key name for a typed character (space, full_stop, comma, digits…)."""
    from textual.keys import _character_to_key

    return _character_to_key(character)
