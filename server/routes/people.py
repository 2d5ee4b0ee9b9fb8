"""People administration: list (supervisors), create and disable (admins)."""

from __future__ import annotations

from aiohttp import web

from db.models import ROLES, Person
from server.auth import ADMINS, SUPERVISORS, principal_of, requires
from server.errors import bad_request, not_found
from server.people import PersonError, create_person, person_json, set_active
from server.validation import Fields, json_body

routes = web.RouteTableDef()


@routes.get("/api/people")
@requires(SUPERVISORS)
async def list_people(request: web.Request) -> web.Response:
    people = await Person.all().order_by("username").prefetch_related("department")
    return web.json_response([
        person_json(p, p.department.code if p.department else None) for p in people])


@routes.post("/api/people")
@requires(ADMINS)
async def add_person(request: web.Request) -> web.Response:
    f = Fields(await json_body(request))
    username = f.text("username", max_len=40)
    full_name = f.text("full_name", max_len=120)
    password = f.text("password", max_len=200, min_len=8)
    roles = f.string_list("roles", ROLES)
    department = f.text("department", required=False, max_len=40) or None
    phone = f.text("phone", required=False, max_len=40)
    language = f.choice("language", ("id", "en"), required=False, default="id") or "id"
    f.check()
    try:
        person = await create_person(
            username=username, full_name=full_name, password=password, roles=roles,
            department_code=department, phone=phone, language=language,
            actor=principal_of(request).actor)
    except PersonError as exc:
        raise bad_request(str(exc), {exc.field or "person": str(exc)}) from exc
    return web.json_response(person_json(person, department), status=201)


@routes.post("/api/people/{username}/disable")
@requires(ADMINS)
async def disable_person(request: web.Request) -> web.Response:
    try:
        person = await set_active(request.match_info["username"], False,
                                  actor=principal_of(request).actor)
    except PersonError as exc:
        raise not_found("person") from exc
    return web.json_response(person_json(person))
