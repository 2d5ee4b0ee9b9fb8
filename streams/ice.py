"""STUN and TURN servers for WHEP: configured once, used by both ends.

Without them a viewer must reach the server's own addresses (host candidates):
fine on the control room's LAN, not for a wall behind another NAT or a player
outside. One list (PANTAU_ICE_SERVERS) feeds aiortc's answerer (its
RTCConfiguration), the wall page's RTCPeerConnection, and every other WHEP
player through `Link: <url>; rel="ice-server"` on the 201, as the WHEP draft
(and RFC 9725 for WHIP) describes.

The setting is either the browsers' own shape, a JSON list of RTCIceServer
(`[{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p"}]`),
or for servers without credentials just their URLs, comma-separated
(`stun:stun.example.org:3478`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiortc import RTCIceServer

_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
# What a URL, username or credential may hold: printable ASCII without the
# characters that would end a Link header's <...> or "..." (or a header line).
_PLAIN = re.compile(r'^[\x21-\x7e]+$')
_FORBIDDEN = set('<>"\\,;')


class IceConfigError(ValueError):
    """PANTAU_ICE_SERVERS cannot be used as it is (the message says why)."""


def _clean(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 512 \
            or not _PLAIN.match(value) or _FORBIDDEN & set(value):
        raise IceConfigError(f"{what} must be printable ASCII without spaces or "
                             f"<>\",;\\ (got {value!r})")
    return value


@dataclass(frozen=True)
class IceServer:
    """One STUN or TURN server; a TURN server needs its username and credential."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise IceConfigError("an ICE server needs at least one URL")
        for url in self.urls:
            _clean(url, "an ICE server URL")
            if not url.lower().startswith(_SCHEMES):
                raise IceConfigError(f"an ICE server URL starts with stun:, stuns:, turn: or "
                                     f"turns: (got {url!r})")
            if url.lower().startswith("turn") and (self.username is None
                                                   or self.credential is None):
                raise IceConfigError(f"TURN server {url!r} needs a username and credential")
        if (self.username is None) != (self.credential is None):
            raise IceConfigError("give both username and credential, or neither")
        if self.username is not None:
            _clean(self.username, "an ICE username")
            _clean(self.credential, "an ICE credential")

    def for_aiortc(self) -> RTCIceServer:
        return RTCIceServer(list(self.urls), self.username, self.credential)

    def for_browser(self) -> dict[str, Any]:
        """The RTCIceServer dictionary a page passes to `new RTCPeerConnection`."""
        entry: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            entry |= {"username": self.username, "credential": self.credential}
        return entry

    def link_headers(self) -> list[str]:
        """`Link` values announcing this server, one per URL (WHEP/WHIP)."""
        extra = ""
        if self.username is not None:
            extra = (f'; username="{self.username}"; credential="{self.credential}"'
                     f'; credential-type="password"')
        return [f'<{url}>; rel="ice-server"{extra}' for url in self.urls]


def parse_ice_servers(raw: str) -> tuple[IceServer, ...]:
    """PANTAU_ICE_SERVERS as configured: '' (none), a JSON list of RTCIceServer,
    or comma/space-separated URLs of servers without credentials."""
    raw = raw.strip()
    if not raw:
        return ()
    if not raw.startswith("["):
        return tuple(IceServer((url,)) for url in raw.replace(",", " ").split())
    try:
        entries = json.loads(raw)
    except ValueError as exc:
        raise IceConfigError(f"not valid JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise IceConfigError("a JSON list of {\"urls\", \"username\", \"credential\"}")
    servers = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - {"urls", "username", "credential"}:
            raise IceConfigError(f"each entry has urls and optionally username and "
                                 f"credential (got {entry!r})")
        urls = entry.get("urls")
        urls = [urls] if isinstance(urls, str) else urls
        if not isinstance(urls, list):
            raise IceConfigError(f"urls is a URL or a list of URLs (got {urls!r})")
        servers.append(IceServer(tuple(urls), entry.get("username"), entry.get("credential")))
    return tuple(servers)
