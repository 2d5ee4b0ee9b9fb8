"""GET /api/board: the whole room at a glance (operators and wall displays)."""

from __future__ import annotations

from aiohttp import web

from server.auth import ANY_OPERATOR, principal_of, requires
from server.board import board
from server.events.visibility import wall_board

routes = web.RouteTableDef()


@routes.get("/api/board")
@requires(ANY_OPERATOR, kinds=("person", "wall"))
async def get_board(request: web.Request) -> web.Response:
    room = await board()
    return web.json_response(wall_board(room) if principal_of(request).kind == "wall" else room)
