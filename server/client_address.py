"""Who is on the other end of a request: the one place that decides a client's address.

Rate limits, sign-in logs and the access log key on it, so it must not be
something a client can choose. `X-Forwarded-For` is believed only when the TCP
peer is one of the configured reverse proxies (`PANTAU_TRUSTED_PROXIES`, empty
by default); then the client is the rightmost address in the header that is not
itself a trusted proxy, since everything left of that was written by the client
and may be forged. Anything else gets the TCP peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

from server.keys import settings_key
from server.settings import Network

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"  # a Unix socket or a transport already closed: no peer address


def _parse(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:4711"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:4711"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def _proxies(request: web.BaseRequest) -> tuple[Network, ...]:
    app = getattr(request, "app", None)  # the access log may see a request without one
    return app[settings_key].trusted_proxies if app is not None else ()


def peer_is_trusted_proxy(request: web.BaseRequest) -> bool:
    """Whether the TCP peer is a configured reverse proxy (whose headers count)."""
    peer = _parse(request.remote or "")
    return peer is not None and _trusted(peer, _proxies(request))


def client_address(request: web.BaseRequest) -> str:
    """The client's address as text (IPv4 dotted, IPv6 compressed), or "unknown"."""
    peer = _parse(request.remote or "")
    if peer is None:
        return UNKNOWN
    proxies = _proxies(request)
    if not proxies or not _trusted(peer, proxies):
        return str(peer)
    client = peer
    hops = [h for line in request.headers.getall("X-Forwarded-For", [])
            for h in line.split(",")]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # garbage a trusted proxy would not write: stop at the last good hop
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)
