"""GET /api/reports/{weekly|monthly|yearly}?period=&format=html|csv|json|text&lang=id|en
for supervisors; CSV is one table at a time (`table=`)."""

from __future__ import annotations

from aiohttp import web

from server.auth import SUPERVISORS, requires
from server.browser import page_policy
from server.errors import bad_request
from server.reports import build, render
from server.reports.periods import KINDS, PeriodError

routes = web.RouteTableDef()


@routes.get("/api/reports/{kind}")
@requires(SUPERVISORS)
async def report(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise bad_request(f"kind must be one of: {', '.join(KINDS)}", {"kind": "unknown"})
    q = request.query
    fmt = q.get("format", "json")
    lang = q.get("lang", "id")
    errors = {}
    if fmt not in build.FORMATS:
        errors["format"] = f"must be one of: {', '.join(build.FORMATS)}"
    if lang not in ("id", "en"):
        errors["lang"] = "must be id or en"
    table = q.get("table")
    if fmt == "csv" and table not in render.ORDER:
        errors["table"] = f"csv needs table= one of: {', '.join(render.ORDER)}"
    try:
        period = build.period_of(kind, q.get("period"))
    except PeriodError as exc:
        errors["period"] = str(exc)
    if errors:
        raise bad_request("invalid query: " + ", ".join(sorted(errors)), errors)
    fig = await build.figures(period)
    name = f"pantau-{kind}-{period.label}-{lang}"
    if fmt == "html":
        return web.Response(text=render.html(fig, lang), content_type="text/html", headers={
            "Content-Security-Policy": page_policy(style_hashes=(render.STYLE_HASH,))})
    if fmt == "text":
        return web.Response(text=render.summary(fig, lang), content_type="text/plain")
    if fmt == "csv":
        assert table is not None
        return web.Response(
            text=render.csv_files(fig, lang)[f"{table}.csv"], content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}-{table}.csv"'})
    return web.json_response(render.as_json(fig, lang), dumps=_dumps)


def _dumps(data: object) -> str:
    import json

    return json.dumps(data, default=str, ensure_ascii=False)
