"""GET /api/board: the whole room at a glance (operators and wall displays)."""

from __future__ import annotations

from aiohttp import web

from server.auth import ANY_OPERATOR, requires
from server.board import board

routes = web.RouteTableDef()


@routes.get("/api/board")
@requires(ANY_OPERATOR, kinds=("person", "wall"))
async def get_board(request: web.Request) -> web.Response:
    return web.json_response(await board())
