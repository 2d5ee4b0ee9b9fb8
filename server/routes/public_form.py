"""The public complaint form at /lapor and the status page /lapor/status/{reference}.

Server-rendered, no JavaScript needed, in Indonesian (default) and English
(`?lang=en`). Filing goes through the same intake as every channel; the reporter
is sent (303, so a reload does not file twice) to the status page, which shows
the reference and status key to keep and what has happened since, without staff
names or internal notes. The status page opens only with the report's status key
(server/tickets/public.py): a wrong key, a missing one or a ticket that is not a
public report get the same answer as an unknown reference. A hidden honeypot
field turns away the simplest bots.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

import lang as catalogue
from db.orm import conn
from server.auth import public
from server.client_address import client_address
from server.errors import ApiError
from server.ratelimit import Limited, Rule, address_key, limits_of
from server.routes.tickets import file_ticket
from server.tickets.calendar import JAKARTA
from server.tickets.intake import NewTicket
from server.tickets.public import (
    PUBLIC_VIEW_SQL,
    format_key,
    new_status_key,
    status_key_matches,
    status_path,
)
from server.tickets.records import ticket_json, view_row

routes = web.RouteTableDef()
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
MAX_FORM_BYTES = 32 * 1024

def texts(language: str) -> dict[str, str]:
    """The form's and status page's strings (`lapor.*` in the catalogue)."""
    return catalogue.section(language, "lapor.")


def page_language(request: web.Request, form: Any = None) -> str:
    """`lang` of the form or the query, then the browser's Accept-Language, then
    Indonesian (the city's language)."""
    chosen = (form.get("lang") if form is not None else None) or request.query.get("lang")
    return (catalogue.normalise(chosen) or catalogue.from_accept_language(
        request.headers.get("Accept-Language")) or catalogue.DEFAULT)


def render(name: str, status: int = 200, **context: Any) -> web.Response:
    html = env.get_template(name).render(**context)
    # Security headers (CSP without inline code, no framing) come from server/browser.py.
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def when(value: datetime | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(JAKARTA).strftime("%d %b %Y %H:%M WIB")


async def _rate_limited(request: web.Request, rule: Rule, lang: str) -> web.Response | None:
    """Count this request against `rule` for the client's address; the page to answer
    instead (429, Retry-After) when the address has used up its allowance."""
    try:
        await limits_of(request).hit(rule, address_key(client_address(request)))
    except Limited as exc:
        t = texts(lang)
        page = render("lapor_message.html", 429, lang=lang, t=t, title=t["title"],
                      other_lang="en" if lang == "id" else "id", message=catalogue.text(
                          lang, "lapor.too_many", n=-(-exc.retry_after // 60)))
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    return None


async def _choices() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    db = conn()
    cats = await db.execute_query_dict(
        "SELECT code, name, name_en FROM categories"
        " WHERE active AND (channel IS NULL OR channel = 'web') ORDER BY name")
    dists = await db.execute_query_dict("SELECT code, name FROM districts ORDER BY name")
    return cats, dists


async def _form_page(lang: str, values: dict[str, Any], errors: dict[str, str],
                     status: int = 200) -> web.Response:
    cats, dists = await _choices()
    return render("lapor_form.html", status, lang=lang, other_lang="en" if lang == "id" else "id",
                  t=texts(lang), title=texts(lang)["title"], categories=cats, districts=dists,
                  values=values, errors=errors)


@routes.get("/lapor")
@public
async def form(request: web.Request) -> web.Response:
    return await _form_page(page_language(request), {}, {})


def _number(raw: str, name: str, errors: dict[str, str], t: dict[str, str]) -> float | None:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        errors[name] = t["bad_number"]
        return None


@routes.post("/lapor")
@public
async def submit(request: web.Request) -> web.Response:
    lang = page_language(request)
    if limited := await _rate_limited(request, Rule.LAPOR, lang):
        return limited
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        return render("lapor_message.html", 413, lang=lang, t=texts(lang),
                      other_lang="en" if lang == "id" else "id", title=texts(lang)["title"],
                      message=texts(lang)["too_large"])
    try:
        data = await request.post()
    except (ValueError, UnicodeDecodeError):
        data = None
    if data is None or request.content_type not in ("application/x-www-form-urlencoded",
                                                    "multipart/form-data"):
        return await _form_page(lang, {}, {"description": texts(lang)["required"]}, 400)
    lang = page_language(request, data)
    t = texts(lang)
    fields = ("category", "description", "address", "district", "lat", "lon", "name",
              "phone", "email")
    values: dict[str, Any] = {k: str(data.get(k, "")) for k in fields}
    values["anonymous"] = bool(data.get("anonymous"))
    if data.get("website"):  # the honeypot: people never see it, bots fill it
        return render("lapor_message.html", 400, lang=lang, t=t, title=t["title"],
                      other_lang="en" if lang == "id" else "id", message=t["spam"])
    errors: dict[str, str] = {}
    if not values["category"]:
        errors["category"] = t["required"]
    lat = _number(values["lat"], "lat", errors, t)
    lon = _number(values["lon"], "lon", errors, t)
    new = NewTicket(channel="web", description=values["description"],
                    category=values["category"] or None, address=values["address"],
                    lat=lat, lon=lon, district=values["district"] or None,
                    reporter_name=values["name"], reporter_phone=values["phone"],
                    reporter_email=values["email"], anonymous=bool(values["anonymous"]))
    renamed = {"reporter_name": "name", "reporter_phone": "phone", "reporter_email": "email"}
    for key, message in new.check().items():
        errors.setdefault(renamed.get(key, key), t["location"] if key == "location" else message)
    if not errors:
        key, new.status_key_hash = new_status_key()
        try:
            ticket = await file_ticket(request, new, None, actor="public:web")
        except ApiError as exc:
            errors = {renamed.get(k, k): v
                      for k, v in (exc.body_json.get("fields") or {}).items()} or {
                "description": exc.body_json["message"]}
        else:
            raise web.HTTPSeeOther(
                f"{status_path(ticket['reference'], key)}&lang={lang}&new=1")
    return await _form_page(lang, values, errors, 400)


@routes.get("/lapor/status")
@public
async def status_lookup(request: web.Request) -> web.Response:
    ref = request.query.get("reference", "").strip().upper()
    key = request.query.get("key", "").strip().upper()
    lang = page_language(request)
    if not ref or len(ref) > 40 or len(key) > 40:
        raise web.HTTPSeeOther(f"/lapor?lang={lang}")
    raise web.HTTPSeeOther(f"/lapor/status/{quote(ref)}?{urlencode({'key': key, 'lang': lang})}")


async def _timeline(ticket_id: int, lang: str) -> list[dict[str, str]]:
    rows = await conn().execute_query_dict(
        "SELECT kind, payload, created_at FROM events WHERE subject_type = 'ticket'"
        " AND subject_id = $1 AND kind NOT IN ('ticket.note_added', 'ticket.sla_breached',"
        " 'ticket.routed_away') ORDER BY id", [str(ticket_id)])
    steps = []
    for r in rows:
        payload = r["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        action = payload.get("action") or r["kind"].split(".")[-1]
        key = f"lapor.step.{action}"
        if key not in catalogue.keys():
            continue
        dept = (payload.get("ticket") or {}).get("department") or {}
        steps.append({"at": when(r["created_at"]),
                      "text": catalogue.text(lang, key, dept=dept.get("name", "–"),
                                             into=payload.get("into", "–"))})
    return steps


@routes.get("/lapor/status/{reference}")
@public
async def status_page(request: web.Request) -> web.Response:
    lang = page_language(request)
    if limited := await _rate_limited(request, Rule.LAPOR_STATUS, lang):
        return limited
    t = texts(lang)
    ref = request.match_info["reference"].strip().upper()
    key = request.query.get("key", "")
    rows = [] if "\x00" in ref or len(ref) > 40 else await conn().execute_query_dict(
        f"{PUBLIC_VIEW_SQL} AND t.reference = $1", [ref])
    if not rows or not status_key_matches(rows[0], key):
        return render("lapor_message.html", 404, lang=lang, t=t, title=t["title"],
                      other_lang="en" if lang == "id" else "id", message=t["not_found"])
    row = view_row(rows[0])
    ticket = ticket_json(row)
    category = None
    if ticket["category"]:
        category = (ticket["category"]["name_en"] if lang == "en" else None) or \
            ticket["category"]["name"]
    return render("lapor_status.html", lang=lang, other_lang="en" if lang == "id" else "id",
                  t=t, title=t["title"], ticket=ticket, category=category,
                  status_text=catalogue.text(lang, f"lapor.status.{ticket['status']}"),
                  created=when(ticket["created_at"]), updated=when(ticket["updated_at"]),
                  new=request.query.get("new") == "1", key=format_key(key),
                  timeline=await _timeline(row["id"], lang))
