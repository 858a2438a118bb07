"""The transcoder's lease routes: claim and heartbeat."""

from __future__ import annotations

import uuid

import attrs
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.deps import current_service, get_ctx
from core.http import respond
from core.routing import Param, api_route
from plugins.video.models import LeaseExtendedOut, LeaseOut
from plugins.video.transcoding.leases import LEASE_HEADER
from plugins.video.transcoding.service import TranscodingService

STATE_KEY = "video.transcoding"
PREFIX = "/api/v1/upload/videos"
INTERNAL_TAGS = ["videos (internal)"]
CLAIM_NOTE = (
    "Only a video IN_PROGRESS can be leased. While the lease is live, every status report "
    f"must carry its token in the `{LEASE_HEADER}` header, and a second claim is a 409 "
    "naming the lease's end. A lease that ends unreported releases the video for another "
    "claim (reason `lease_expired`), or fails it after `lease_max_attempts` leases.")

LEASE_TOKEN_PARAM = Param(LEASE_HEADER, location="header",
                          description="The live lease's token; required while a lease is live")


# What a claim answers (`secrets.token_urlsafe`): an empty or blank header is no token.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]+$"


def transcoding(request: Request) -> TranscodingService:
    return get_ctx(request).state[STATE_KEY]


def lease_token(request: Request) -> str | None:
    return request.headers.get(LEASE_HEADER) or None


async def claim_lease(request: Request) -> Response:
    await current_service(request)
    video_id = uuid.UUID(str(request.path_params["video_id"]))
    return respond(await transcoding(request).claim(video_id), status=201)


async def heartbeat_lease(request: Request) -> Response:
    await current_service(request)
    video_id = uuid.UUID(str(request.path_params["video_id"]))
    return respond(await transcoding(request).heartbeat(video_id, lease_token(request)))


def routes() -> list[BaseRoute]:
    return [
        api_route(f"{PREFIX}/{{video_id:uuid}}/lease", claim_lease, methods=["POST"],
                  summary="Claim a lease on a video's processing", description=CLAIM_NOTE,
                  response=LeaseOut, status=201, auth="service", errors=[404, 409, 503],
                  tags=INTERNAL_TAGS),
        api_route(f"{PREFIX}/{{video_id:uuid}}/lease/heartbeat", heartbeat_lease,
                  methods=["POST"], summary="Extend a live lease by lease_seconds from now",
                  description=f"Send the lease's token in the `{LEASE_HEADER}` header. A "
                              "token that does not hold the live lease is a 409.",
                  response=LeaseExtendedOut, auth="service", errors=[404, 409, 422, 503],
                  params=[attrs.evolve(LEASE_TOKEN_PARAM, required=True,
                                       description="The token the claim answered",
                                       schema={"pattern": TOKEN_PATTERN})],
                  tags=INTERNAL_TAGS),
    ]
