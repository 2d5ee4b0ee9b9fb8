"""What the server promises browsers: where the session cookie counts, the
same-origin rule for writes made with it, and the security headers on every response.

A browser attaches the `pantau_token` cookie to every request for this host,
also to requests another page makes it send (a form, a fetch, a WebSocket).
SameSite does not help against a page on another port of the same host: that
is the same *site*. So (see also server/auth.py and server/validation.py):

- the cookie is a credential only on routes that a browser page of ours calls
  (`requires(..., cookie=True)`: the wall page and its streams, the department
  page); everywhere else only an `Authorization: Bearer` header counts;
- a cookie-authenticated unsafe request (POST, PUT, PATCH, DELETE) or WebSocket
  handshake must show it comes from this origin (`Origin`, or
  `Sec-Fetch-Site: same-origin` when a browser sends no Origin);
- a JSON body needs `Content-Type: application/json`, which no cross-site form
  can send and a cross-site fetch only after a CORS preflight we never grant.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web, web_response

from server.client_address import peer_is_trusted_proxy
from server.keys import settings_key

SESSION_COOKIE = "pantau_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Every HTML page: scripts and styles only from our own files (no inline code,
# no eval), nothing from elsewhere, and no page of ours inside a frame.
_PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'{styles}; "
                "img-src 'self' data:; media-src 'self'; connect-src 'self'; "
                "object-src 'none'; base-uri 'none'; form-action 'self'; "
                "frame-ancestors 'none'")
# Everything else (JSON, images, SDP, scripts): render nothing, frame nothing.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000"


def page_policy(style_hashes: tuple[str, ...] = ()) -> str:
    """The CSP of an HTML page; `style_hashes` ('sha256-...') admit exactly those
    inline <style> blocks, for documents that must stand alone (the reports)."""
    return _PAGE_POLICY.format(styles="".join(f" '{h}'" for h in style_hashes))


def _forwarded(request: web.Request, name: str) -> str:
    """The last value a trusted reverse proxy set in header `name` ('' otherwise:
    from anyone else the header is the client's own invention)."""
    if not peer_is_trusted_proxy(request):
        return ""
    values = [v.strip() for line in request.headers.getall(name, []) for v in line.split(",")]
    return values[-1].lower() if values else ""


def is_https(request: web.Request) -> bool:
    """True when browsers reach us over https: the request itself is TLS, the
    configured public URL (PANTAU_PUBLIC_URL) is https, or a trusted proxy
    (PANTAU_TRUSTED_PROXIES) says `X-Forwarded-Proto: https`."""
    return request.secure or request.app[settings_key].public_url.startswith("https://") \
        or _forwarded(request, "X-Forwarded-Proto") == "https"


def is_same_origin(request: web.Request) -> bool:
    """Whether a browser request comes from a page of this server.

    `Origin` (always sent by browsers on unsafe methods and WebSocket handshakes)
    must name the host the request was sent to (or, from a trusted proxy, its
    `X-Forwarded-Host`), or the configured public URL; a missing Origin is
    accepted only with `Sec-Fetch-Site: same-origin`. The scheme is not compared:
    behind a TLS proxy the request arrives as http.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site", "").lower() == "same-origin"
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
        return False  # "null" (sandboxed frames, privacy-sensitive redirects) and junk
    if parts.netloc in (request.host.lower(), _forwarded(request, "X-Forwarded-Host")):
        return True
    public = request.app[settings_key].public_url.lower()
    return bool(public) and f"{parts.scheme}://{parts.netloc}" == public


def looks_cross_site(request: web.Request) -> bool:
    """A browser says this request comes from another origin (for forms that need
    no sign-in but must not be driven by another site, like the sign-in itself)."""
    if "Origin" in request.headers:
        return not is_same_origin(request)
    return request.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site")


def needs_same_origin(request: web.Request) -> bool:
    """Requests that act or read a stream when a cookie authenticates them."""
    return request.method in UNSAFE_METHODS or \
        request.headers.get("Upgrade", "").lower() == "websocket"


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str,
                       max_age: int) -> None:
    """The one way the session cookie is set: HttpOnly, SameSite=Strict, whole site,
    and Secure whenever browsers reach us over https."""
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True,
                        samesite="Strict", secure=is_https(request))


def clear_session_cookie(response: web.StreamResponse, request: web.Request) -> None:
    response.del_cookie(SESSION_COOKIE, path="/", secure=is_https(request),
                        httponly=True, samesite="Strict")


def hide_server_banner() -> None:
    """`Server: Pantau` instead of aiohttp's and Python's versions. Set where aiohttp
    reads its default, because its answers to requests the HTTP parser refuses
    never reach the app's hooks (tests/test_security_web.py checks both paths)."""
    web_response.SERVER_SOFTWARE = "Pantau"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every response (handlers, errors, static
    files, WebSocket handshakes), so no route can forget them."""
    h = response.headers
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"  # same-origin forms still send a full Origin
    h["X-Frame-Options"] = "DENY"
    if "Content-Security-Policy" not in h:
        html = (response.content_type or "") == "text/html"
        h["Content-Security-Policy"] = page_policy() if html else OTHER_POLICY
    if is_https(request):
        h["Strict-Transport-Security"] = HSTS
    if request.path.startswith("/static/"):
        # Kiosks run for months: revalidate (cheap, ETag) so a deploy reaches them.
        h.setdefault("Cache-Control", "no-cache")
