"""The message catalogue: both languages say everything, with the same placeholders,
and it loads once, fast, from a compiled cache."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import lang
from lang import catalogue
from tests.conftest import PROJECT_ROOT


def _messages(language: str) -> dict[str, tuple[str, ...]]:
    """key -> every form of its translation, straight from the PO file (Babel)."""
    out: dict[str, tuple[str, ...]] = {}
    for m in catalogue.catalog(language):
        if not m.id:
            continue
        key = m.id[0] if isinstance(m.id, tuple) else m.id
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        out[str(key)] = tuple(str(f or "") for f in forms)
    return out


def _fields(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text)
            if name is not None}


def test_every_message_is_in_both_languages_and_none_is_empty() -> None:
    en, id_ = _messages("en"), _messages("id")
    assert sorted(set(en) - set(id_)) == [], "in English only"
    assert sorted(set(id_) - set(en)) == [], "in Indonesian only"
    empty = [(code, key) for code, msgs in (("en", en), ("id", id_))
             for key, forms in msgs.items() if not all(f.strip() for f in forms)]
    assert empty == []
    assert len(en) > 300


def test_placeholders_are_the_same_in_both_translations() -> None:
    en, id_ = _messages("en"), _messages("id")
    differ = {}
    for key in en:
        fields = [_fields(f) for f in en[key] + id_[key]]
        if any(f != fields[0] for f in fields):
            differ[key] = fields
    assert differ == {}


def test_counted_messages_have_every_plural_form_and_a_count() -> None:
    for code, forms in (("en", 2), ("id", 1)):
        cat = catalogue.catalog(code)
        assert cat.num_plurals == forms
        for m in cat:
            if m.id and m.pluralizable:
                assert len(m.string) == forms, m.id
                assert all("{n}" in s for s in m.string), m.id
    assert lang.text("en", "dept.open_count", n=1) == "1 open ticket"
    assert lang.text("en", "dept.open_count", n=2) == "2 open tickets"
    assert lang.text("id", "dept.open_count", n=2) == "2 tiket terbuka"
    assert lang.plural_forms("id", "dept.open_count") == {"one": "{n} tiket terbuka",
                                                           "other": "{n} tiket terbuka"}


def test_no_fuzzy_or_obsolete_entries() -> None:
    for code in lang.LANGUAGES:
        cat = catalogue.catalog(code)
        assert [m.id for m in cat if m.id and m.fuzzy] == []
        assert not cat.obsolete


def test_unknown_key_is_shown_as_itself_and_language_falls_back_to_indonesian() -> None:
    assert lang.text("en", "no.such.key") == "no.such.key"
    assert lang.text("fr", "queue.title") == lang.text("id", "queue.title") == "Antrean"
    assert lang.text("en-GB", "queue.title") == "Queue"


@pytest.mark.parametrize(("header", "expected"), [
    ("en-US,en;q=0.9", "en"),
    ("id-ID,id;q=0.9,en;q=0.8", "id"),
    ("fr-FR, en;q=0.5, id;q=0.7", "id"),
    ("de, fr", None),
    ("en;q=0, id;q=0.1", "id"),
    ("", None),
    ("en;q=abc", None),
])
def test_accept_language_is_read_by_preference(header: str, expected: str | None) -> None:
    assert lang.from_accept_language(header) == expected


def _load_in_a_fresh_process(cache: Path) -> dict[str, Any]:
    code = ("import json, sys, time\nt0 = time.perf_counter()\nimport lang\n"
            "lang.text('en', 'queue.title'); lang.text('id', 'queue.title')\n"
            "print(json.dumps({'ms': (time.perf_counter() - t0) * 1000,"
            " 'babel': 'babel' in sys.modules}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True,
                         env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    return dict(json.loads(out.stdout))


def test_catalogue_is_compiled_once_then_loaded_without_babel(tmp_path: Path) -> None:
    first = _load_in_a_fresh_process(tmp_path)
    assert first["babel"]  # nothing cached yet: Babel parsed and compiled the PO files
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "pantau" / "lang").iterdir()) \
        == ["en", "id"]
    again = _load_in_a_fresh_process(tmp_path)
    assert not again["babel"]  # the compiled catalogues, straight into gettext
    assert again["ms"] < first["ms"]


def test_an_edited_catalogue_is_recompiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    before = catalogue.compiled("en")
    po = tmp_path / "pantau.po"
    po.write_text(catalogue.po_path("en").read_text().replace('"Queue"', '"The queue"'))
    after = catalogue.compiled("en", po)
    assert after != before and b"The queue" in after
    assert catalogue.compiled("en") == before  # the shipped file still has its own
