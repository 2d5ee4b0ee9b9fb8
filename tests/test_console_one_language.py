"""One language on a screen: the console driven in Indonesian through every screen
shows none of the catalogue's English wording."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

import lang
from lang.catalogue import keys
from tests.test_console_app import queue_ready, signed_in
from tests.test_console_support import wait_for
from tui.app import PantauApp
from tui.screens.modals import HelpModal

SIZE = (160, 45)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("PANTAU_CONFIG_DIR", str(home))
    return home


def raw(language: str, key: str) -> str:
    """The message unformatted (a counted one in its plural form)."""
    if key in lang.plural_keys():
        return lang.plural_forms(language, key)["other"]
    return lang.text(language, key)


def english_only() -> list[re.Pattern[str]]:
    """Every English message that differs from its Indonesian one and could not be
    mistaken for data: whole words, without placeholders, four letters or more."""
    indonesian = " ".join(raw("id", k) for k in keys())
    out = []
    for key in sorted(keys()):
        if key.startswith(("report.", "lapor.", "dept.", "wall.", "event.", "weekday.")):
            continue  # other surfaces'
        en = raw("en", key)
        if "{" in en or len(en) < 4 or en == raw("id", key) or en in indonesian:
            continue
        out.append(re.compile(rf"(?<![\w-]){re.escape(en)}(?![\w-])"))
    return out


def screen_text(app: PantauApp) -> str:
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>',
                         svg):
        rows.setdefault(float(m.group(2)), []).append((float(m.group(1)),
                                                       html.unescape(m.group(3))))
    return "\n".join("".join(t for _, t in sorted(r)) for _, r in sorted(rows.items())
                     ).replace("\xa0", " ")


async def test_every_screen_speaks_indonesian_only(api: Any) -> None:
    await signed_in(api, "supervisor")
    patterns = english_only()
    assert len(patterns) > 50
    app = PantauApp(api.base, language="id")
    seen: dict[str, str] = {}

    async def look(name: str, pilot: Any) -> None:
        await pilot.pause(0.3)
        seen[name] = screen_text(app)

    async with app.run_test(size=SIZE) as pilot:
        await queue_ready(app, pilot)
        await look("queue", pilot)
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpModal), pilot=pilot)
        await look("help", pilot)
        await pilot.press("escape")
        await pilot.press("enter")
        await wait_for(lambda: type(app.screen).__name__ == "TicketDetailScreen", pilot=pilot)
        await pilot.pause(1.0)
        await look("ticket", pilot)
        await pilot.press("colon")
        await pilot.pause(0.5)
        await look("palette", pilot)
        await pilot.press("escape")
        for key, name, screen in (("f3", "112", "CallScreen"), ("f4", "alarms", "AlarmsScreen"),
                                  ("f5", "cameras", "CamerasScreen")):
            await pilot.press(key)
            await wait_for(lambda s=screen: type(app.screen).__name__ == s, pilot=pilot)
            await pilot.pause(1.0)
            await look(name, pilot)
        await pilot.press("f2")
        await pilot.press("S")
        await wait_for(lambda: type(app.screen).__name__ == "ShiftScreen", pilot=pilot)
        await pilot.pause(1.0)
        await look("shift", pilot)
        assert set(seen) == {"queue", "help", "ticket", "palette", "112", "alarms", "cameras",
                             "shift"}
    found = {name: sorted({p.pattern for p in patterns if p.search(text)})
             for name, text in seen.items()}
    hits = {name: words for name, words in found.items() if words}
    shown = "\n".join(f"--- {name}\n{seen[name]}" for name in hits)
    assert not hits, f"English on Indonesian screens: {hits}\n{shown}"
