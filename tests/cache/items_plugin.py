"""An inline test plugin: `GET /items/{item_id}` served through `get_or_load`, from a
source that counts its loads (the stand-in for a database query)."""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core.cache import get_or_load
from core.context import AppContext
from core.deps import get_ctx
from core.http import raw_json
from core.plugins import hookimpl
from core.routing import api_route


class CachedItemsPlugin:
    def __init__(self, load_seconds: float = 0.0) -> None:
        self.loads: list[str] = []
        self.load_seconds = load_seconds

    async def read_item(self, request: Request) -> Response:
        ctx = get_ctx(request)
        item_id = request.path_params["item_id"]

        async def load() -> bytes:
            self.loads.append(item_id)
            await asyncio.sleep(self.load_seconds)
            return orjson.dumps({"id": item_id})

        return raw_json(await get_or_load(ctx.cache, ctx.flight, f"item:{item_id}", load, 60))

    @hookimpl
    def register_routes(self, ctx: AppContext) -> list:
        return [api_route("/items/{item_id}", self.read_item, methods=["GET"],
                          summary="An item, cached")]
