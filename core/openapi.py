"""The OpenAPI 3.1 document, generated from what each `ApiRoute` declares, and the docs
pages (Swagger UI, ReDoc) served from an installed package so they work offline."""

from __future__ import annotations

import re
import uuid
from typing import Any

import openapi_ui_bundles.redoc as redoc_bundle
import openapi_ui_bundles.swagger_ui as swagger_bundle
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from core import __version__
from core.context import AppContext
from core.deps import get_ctx
from core.http import raw_json, render
from core.routing import ApiRoute, Operation, Param
from core.schema import json_schema

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
ERROR_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated, or the credential is wrong",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    412: "The resource changed: `If-Match` does not name its current ETag",
    413: "Request body too large",
    415: "The body must be application/json",
    422: "Invalid input; `errors` names each field",
    429: "Rate limited; see Retry-After",
    503: "A dependency is unavailable",
}
# Headers every error answer of a status carries (`core.errors` sets them).
RETRY_AFTER = {"Retry-After": {
    "description": "Seconds to wait before trying again",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}}
ERROR_HEADERS: dict[int, dict[str, Any]] = {429: RETRY_AFTER, 503: RETRY_AFTER}
# What a service route's 401 carries (`core.deps.current_service`): one challenge per
# loaded service-auth scheme.
SERVICE_CHALLENGE = {"WWW-Authenticate": {
    "description": "The schemes a service may authenticate with",
    "required": True,
    "schema": {"type": "string"},
}}
# What the `webhooks` entries stand for (docs/events.md, docs/webhooks.md).
EVENT_NOTE = ("Sent by the webhooks plugin as a Standard Webhooks request (`webhook-id` is the "
              "event's outbox id, `webhook-signature` its HMAC), at least once and in order per "
              "endpoint. The same `data` reaches the owner's live stream "
              "(`GET /api/v1/upload/videos/events`) and the EventBridge sink.")
DOCUMENT_KEY = "core.openapi"  # where the rendered document is kept in `ctx.state`
USER_SCHEME = {"type": "apiKey", "in": "cookie", "name": "access_token"}
_PATH_PARAM = re.compile(r"{([^}:]+)(?::([^}]+))?}")
# Starlette path convertors and the type each parameter then has.
CONVERTOR_TYPES: dict[str, Any] = {"int": int, "float": float, "uuid": uuid.UUID,
                                   "uuid_text": uuid.UUID}


def build_document(ctx: AppContext, routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every `ApiRoute` among `routes`."""
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    schemes = _security_schemes(ctx)
    security: dict[str, list[dict[str, list[str]]]] = {
        "user": [{"user": []}],
        "optional_user": [{}, {"user": []}],
        "service": [{name: []} for name in schemes if name.startswith("service_")],
    }
    paths: dict[str, Any] = {}
    operation_ids: set[str] = set()
    for route in routes:
        if not isinstance(route, ApiRoute):
            continue
        path = _PATH_PARAM.sub(r"{\1}", route.path)
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            operation = _operation(route, route.operation, components)
            operation["operationId"] = _unique(route.name, method, operation_ids)
            operation["security"] = security.get(route.operation.auth or "", [])
            paths.setdefault(path, {})[method.lower()] = operation
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "itube", "version": __version__,
                 "description": "Video platform API assembled from plugins."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": schemes},
    }
    webhooks = _event_webhooks(ctx, components)
    if webhooks:
        document["webhooks"] = webhooks
    return document


def _event_webhooks(ctx: AppContext, components: dict[str, Any]) -> dict[str, Any]:
    """Each event type plugins declare (`event_schemas`), as the request a webhook
    endpoint receives; its `data` schema is a component the other sinks' docs name."""
    webhooks: dict[str, Any] = {}
    for declared in ctx.pm.hook.event_schemas():
        for event_type, schema in sorted((declared or {}).items()):
            name = "".join(part.capitalize() for part in re.split(r"[._]", event_type))
            components[f"{name}Event"] = schema
            webhooks[event_type] = {"post": {
                "summary": schema.get("description", event_type),
                "description": EVENT_NOTE,
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _event_envelope(event_type, f"{name}Event")}}},
                "responses": {"2XX": {"description": "Received; any other answer is tried "
                                                     "again later"}},
            }}
    return webhooks


def _event_envelope(event_type: str, data_component: str) -> dict[str, Any]:
    return {
        "type": "object", "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"const": event_type},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": {"$ref": f"#/components/schemas/{data_component}"},
        },
    }


def _unique(name: str, method: str, taken: set[str]) -> str:
    """Operation ids must be unique; two endpoints may share a function name."""
    candidate, counter = name, 1
    if candidate in taken:
        candidate = f"{name}_{method.lower()}"
    while candidate in taken:
        counter += 1
        candidate = f"{name}_{method.lower()}_{counter}"
    taken.add(candidate)
    return candidate


def _security_schemes(ctx: AppContext) -> dict[str, Any]:
    schemes: dict[str, Any] = {"user": USER_SCHEME}
    for authenticator in ctx.service_authenticators:
        schemes[f"service_{authenticator.name}"] = authenticator.security_scheme
    return schemes


def _operation(route: ApiRoute, op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": op.summary,
        "tags": list(op.tags),
        "parameters": _parameters(route, op, components),
        "responses": _responses(op, components),
    }
    if op.description:
        doc["description"] = op.description
    if op.body is not None:
        schema = json_schema(op.body, components)
        doc["requestBody"] = {
            "required": op.body_required,
            "content": {media: {"schema": schema} for media in op.body_media_types},
        }
    return doc


def _parameters(route: ApiRoute, op: Operation, components: dict[str, Any]) -> list[Any]:
    declared = {param.name for param in op.params}
    params = [
        _parameter(Param(name=name, location="path", type=CONVERTOR_TYPES.get(kind, str),
                         required=True), components)
        for name, kind in _PATH_PARAM.findall(route.path)
        if name not in declared
    ]
    return params + [_parameter(param, components) for param in op.params]


def _parameter(param: Param, components: dict[str, Any]) -> dict[str, Any]:
    schema = {**json_schema(param.type, components), **param.schema}
    doc = {"name": param.name, "in": param.location, "schema": schema,
           "required": param.required or param.location == "path"}
    if param.description:
        doc["description"] = param.description
    return doc


def _responses(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = {
            op.response_media_type: {"schema": json_schema(op.response, components)}}
    if op.response_headers:
        success["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in op.response_headers.items()
        }
    responses: dict[str, Any] = {str(op.status): success}
    implied = {"user": [401], "service": [401, 403]}.get(op.auth or "", [])
    if op.body is not None:
        implied = [*implied, 413, 415, 422]
    for status in sorted({*op.errors, *implied}):
        responses[str(status)] = _error_response(status, op)
    return responses


def _error_response(status: int, op: Operation) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS.get(status, "Error"),
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    headers = {**ERROR_HEADERS.get(status, {})}
    if status == 401 and op.auth == "service":
        headers.update(SERVICE_CHALLENGE)
    if headers:
        response["headers"] = headers
    return response


async def openapi_json(request: Request) -> Response:
    # Built once per app start: routes and auth strategies do not change while it runs.
    ctx = get_ctx(request)
    document = ctx.state.get(DOCUMENT_KEY)
    if document is None:
        document = ctx.state[DOCUMENT_KEY] = render(build_document(ctx, request.app.routes))
    return raw_json(document)


SWAGGER_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>itube API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
</body></html>"""
REDOC_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>itube API</title>
</head><body><redoc spec-url="/openapi.json"></redoc>
<script src="/redoc/assets/redoc.standalone.js"></script></body></html>"""


async def swagger_page(request: Request) -> Response:
    return HTMLResponse(SWAGGER_PAGE)


async def redoc_page(request: Request) -> Response:
    return HTMLResponse(REDOC_PAGE)


ROUTES: list[BaseRoute] = [
    Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False),
    Route("/docs", swagger_page, methods=["GET"], include_in_schema=False),
    Route("/redoc", redoc_page, methods=["GET"], include_in_schema=False),
    Mount("/docs/assets", StaticFiles(directory=swagger_bundle.static_path), name="swagger"),
    Mount("/redoc/assets", StaticFiles(directory=redoc_bundle.static_path), name="redoc"),
]
