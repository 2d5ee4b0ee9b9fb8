"""Loading the PO catalogues (once per process and language) and looking messages up.

A PO file is parsed with Babel and compiled to gettext's binary MO form; lookups
are then the standard library's `GNUTranslations` (a dictionary lookup, with the
plural rule from the file's `Plural-Forms` header). Parsing a PO file and importing
Babel cost about 100 ms, so the compiled MO is kept in the user's cache directory
under the PO file's hash: every later start of a console or server loads it in a
millisecond and never imports Babel. An edited PO file has a new hash, so a stale
compilation is never used.
"""

from __future__ import annotations

import functools
import gettext
import hashlib
import io
import os
from pathlib import Path
from typing import Any

LANGUAGES = ("id", "en")
DEFAULT = "id"  # the city's language: what a surface shows when nobody said otherwise
DOMAIN = "pantau"
LOCALES = Path(__file__).resolve().parent / "locales"
PLURAL_SUFFIX = ".plural"  # msgid_plural of a counted message is its key plus this


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def normalise(value: object) -> str | None:
    """`id`, `id-ID`, `in` (the old code), `en_GB`, `EN` -> `id` or `en`; else None."""
    if not isinstance(value, str):
        return None
    base = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if base == "in":
        base = "id"
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The first of our languages a browser's Accept-Language prefers, by q-value."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "")[:500].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        language = normalise(tag)
        if language is not None and q > 0:
            ranked.append((-q, i, language))
    return min(ranked)[2] if ranked else None


def catalog(language: str, po: Path | None = None) -> Any:
    """The PO file parsed by Babel (`babel.messages.catalog.Catalog`): the tests check it."""
    from babel.messages.pofile import read_po

    with (po or po_path(language)).open("rb") as fh:
        return read_po(fh, locale=language, domain=DOMAIN)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pantau" / "lang"


def _compile(language: str, po: Path) -> bytes:
    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, catalog(language, po))
    return buf.getvalue()


def compiled(language: str, po: Path | None = None) -> bytes:
    """The MO bytes for the PO file as it is now, from the cache or freshly compiled."""
    po = po or po_path(language)
    digest = hashlib.sha256(po.read_bytes()).hexdigest()[:20]
    cached = _cache_dir() / f"{language}-{digest}.mo"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    data = _compile(language, po)
    try:
        import tempfile  # only when compiling: it costs an import on every start

        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, cached)  # atomic: a concurrent start reads the old or the new file
    except OSError:
        pass  # a read-only home: compile on every start, still correct
    return data


@functools.cache
def _translations(language: str) -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(compiled(language)))


def _ids(language: str) -> dict[Any, str]:
    # GNUTranslations keeps its messages in `_catalog`: msgid -> text, and
    # (msgid, index) -> text for each plural form.
    return _translations(language)._catalog  # type: ignore[attr-defined]


@functools.cache
def keys() -> frozenset[str]:
    """Every message id of the English catalogue (the tests hold the others to it)."""
    return frozenset(k[0] if isinstance(k, tuple) else k for k in _ids("en") if k)


@functools.cache
def plural_keys() -> frozenset[str]:
    return frozenset(k[0] for k in _ids("en") if isinstance(k, tuple))


def _language(language: str | None) -> str:
    return normalise(language) or DEFAULT


def text(language: str | None, key: str, **values: object) -> str:
    """The message `key` in `language`, formatted with `values` (str.format).

    A counted message (one with plural forms) takes its count from `n`. An unknown
    key comes back as itself, which the catalogue tests and the screens' tests catch.
    """
    tr = _translations(_language(language))
    if key in plural_keys():
        count = values.get("n", 0)
        n = int(count) if isinstance(count, int | float) else 0
        message = tr.ngettext(key, key + PLURAL_SUFFIX, n)
    else:
        message = tr.gettext(key)
    return message.format(**values) if values else message


@functools.cache
def _section(language: str, prefix: str) -> dict[str, str]:
    tr = _translations(language)
    return {key[len(prefix):]: tr.gettext(key) for key in keys()
            if key.startswith(prefix) and key not in plural_keys()}


def section(language: str | None, prefix: str) -> dict[str, str]:
    """All plain messages under `prefix` (stripped) in `language`: a page's strings."""
    return dict(_section(_language(language), prefix))


def plural_forms(language: str | None, key: str) -> dict[str, str]:
    """A counted message as CLDR plural categories (`one`, `other`), for browsers'
    `Intl.PluralRules`: English has both; Indonesian uses one form for every count."""
    tr = _translations(_language(language))
    return {"one": tr.ngettext(key, key + PLURAL_SUFFIX, 1),
            "other": tr.ngettext(key, key + PLURAL_SUFFIX, 2)}
