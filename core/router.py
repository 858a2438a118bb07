"""The app's router: Starlette's, trying only the routes whose literal start fits the path.

Starlette tries every route in turn on every request; with the default app's 23 routes that
was about a tenth of a cached GET. The index only narrows which routes are tried: each candidate is
still asked with its own `matches`, in declaration order, so what answers (the route, a
405, a slash redirect, a 404) is exactly what the plain router picks. A path asked for
again (a popular video) is matched at most twice: where only the request's type, method
and path decide the match, the index keeps it once it is asked for a second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from starlette._utils import get_route_path  # the path every `matches` reads
from starlette.datastructures import URL
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

from core.problems import answer_exception
from core.repeats import RecentlyAsked

# Full matches an index keeps; when full, all are forgotten at once. Only of paths this
# long at most (a video's is 59 characters): whatever paths clients send, a few MB.
MATCHES_KEPT = 4096
KEPT_PATH_MOST = 256
MatchKey = tuple[str, str | None, str]  # the request's type, method and route path


class RouteIndex:
    """The routes a path could match. A route without parameters matches its own path only
    (or that path and a final newline, as `$` does); it is looked up by that path. Any
    other route is filed under the whole segments before its first parameter, and a path
    collects the routes filed under each of its own leading segments. Routes matched some
    other way (hosts, their own `matches`) are filed at the root: every path tries them."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = routes
        self.count = len(routes)
        self._root = _Node()
        exact: dict[str, list[int]] = {}
        for position, route in enumerate(routes):
            pattern = _path_pattern(route)
            if pattern is not None and "{" not in pattern:
                exact.setdefault(pattern, []).append(position)
                exact.setdefault(pattern + "\n", []).append(position)
                continue
            node = self._root
            for segment in _leading_segments(pattern or "/"):
                node = node.children.setdefault(segment, _Node())
            node.own.append(position)
        self._root.settle(routes, ())
        self._exact = {
            path: _in_order(routes, (*self._walk(path).positions, *positions))
            for path, positions in exact.items()
        }
        self._matched: dict[MatchKey, tuple[BaseRoute, Scope]] = {}
        self._asked = RecentlyAsked()
        # Whether each candidate tuple (by identity: the index holds them) is all plain
        # routes, whose `Route.matches` reads nothing of the request but its type, method
        # and route path (a `Host` reads the headers, a `Mount` the root path).
        self._plain: dict[int, bool] = {}

    def is_for(self, routes: Sequence[BaseRoute]) -> bool:
        """Whether the index still describes `routes` (routes added later rebuild it)."""
        return routes is self.routes and len(routes) == self.count

    def candidates(self, route_path: str) -> tuple[BaseRoute, ...]:
        """The routes that could match `route_path`, in declaration order."""
        found = self._exact.get(route_path)
        return self._walk(route_path).candidates if found is None else found

    def matched(self, key: MatchKey) -> tuple[BaseRoute, Scope] | None:
        """The route and child scope kept for `key`, the path parameters a dict of their own."""
        kept = self._matched.get(key)
        if kept is None:
            return None
        route, child_scope = kept
        return route, {**child_scope, "path_params": dict(child_scope["path_params"])}

    def remember(self, key: MatchKey, candidates: tuple[BaseRoute, ...], route: BaseRoute,
                 child_scope: Scope) -> None:
        """Keep a full match of `key` asked for again, where every candidate of its path is
        a plain route. A path asked for once (each video of a crawl) costs no copy."""
        if not self._asked.again(key):
            return
        plain = self._plain.get(id(candidates))
        if plain is None:
            plain = self._plain[id(candidates)] = all(
                type(candidate).matches is Route.matches for candidate in candidates)
        if not plain:
            return
        if len(self._matched) >= MATCHES_KEPT:
            self._matched.clear()
        self._matched[key] = (route, {**child_scope,
                                      "path_params": dict(child_scope["path_params"])})

    @property
    def matches_kept(self) -> int:
        return len(self._matched)

    def _walk(self, route_path: str) -> _Node:
        node = self._root
        for segment in _leading_segments(route_path):
            deeper = node.children.get(segment)
            if deeper is None:
                break
            node = deeper
        return node


class _Node:
    __slots__ = ("candidates", "children", "own", "positions")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.own: list[int] = []
        self.positions: tuple[int, ...] = ()
        self.candidates: tuple[BaseRoute, ...] = ()

    def settle(self, routes: Sequence[BaseRoute], above: tuple[int, ...]) -> None:
        """Every node keeps its own routes and its ancestors', in declaration order."""
        self.positions = tuple(sorted((*above, *self.own)))
        self.candidates = _in_order(routes, self.positions)
        for child in self.children.values():
            child.settle(routes, self.positions)


def _in_order(routes: Sequence[BaseRoute], positions: Iterable[int]) -> tuple[BaseRoute, ...]:
    return tuple(routes[position] for position in sorted(set(positions)))


def _path_pattern(route: BaseRoute) -> str | None:
    """The path a route's own `matches` compiles into its regex, or None when the route
    matches some other way."""
    if isinstance(route, Mount) and type(route).matches is Mount.matches:
        return route.path + "/{path:path}"
    if isinstance(route, Route) and type(route).matches is Route.matches:
        return route.path
    if isinstance(route, WebSocketRoute) and type(route).matches is WebSocketRoute.matches:
        return route.path
    return None


def _leading_segments(path: str) -> list[str]:
    """The whole segments before the first `{` (a parameter, or a literal brace: sooner is
    safe), less the last piece, which a parameter or the end of the path may extend."""
    return path.split("{", 1)[0].split("/")[1:-1]


class IndexedRouter(Router):
    """Starlette's `Router` asking only the candidate routes; the rest is Starlette's. It
    answers its own exceptions (a 404, a 405) with the app's handlers, as Starlette's
    `ExceptionMiddleware` did from just outside it (`core.app.KernelApp` has none)."""

    _index: RouteIndex | None = None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        try:
            await self._dispatch(scope, receive, send)
        except Exception as exc:
            if not await answer_exception(exc, scope, receive, send):
                raise

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "router" not in scope:
            scope["router"] = self
        route_path = get_route_path(scope)
        route, child_scope = self._pick(scope, route_path)
        if route is not None:
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        if scope["type"] == "http" and self.redirect_slashes and route_path != "/":
            redirect = _slash_toggled(scope, route_path)
            if self._any_match(redirect):
                await RedirectResponse(url=str(URL(scope=redirect)))(scope, receive, send)
                return
        await self.default(scope, receive, send)

    def _pick(self, scope: Scope, route_path: str) -> tuple[BaseRoute | None, Scope]:
        """The first full match; else the first partial one (a 405); else none. A full
        match is kept for the next request of the same type, method and path, unless the
        path is long or a parent's path parameters come with the scope."""
        index = self._current_index()
        key = None if scope.get("path_params") or len(route_path) > KEPT_PATH_MOST else (
            scope["type"], scope.get("method"), route_path)
        if key is not None and (kept := index.matched(key)) is not None:
            return kept
        candidates = index.candidates(route_path)
        partial: tuple[BaseRoute | None, Scope] = (None, {})
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                if key is not None:
                    index.remember(key, candidates, route, child_scope)
                return route, child_scope
            if match is Match.PARTIAL and partial[0] is None:
                partial = (route, child_scope)
        return partial

    def _any_match(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] is not Match.NONE
                   for route in self._candidates(get_route_path(scope)))

    def _candidates(self, route_path: str) -> tuple[BaseRoute, ...]:
        return self._current_index().candidates(route_path)

    def _current_index(self) -> RouteIndex:
        if self._index is None or not self._index.is_for(self.routes):
            self._index = RouteIndex(self.routes)
        return self._index


def _slash_toggled(scope: Scope, route_path: str) -> dict[str, Any]:
    """Starlette's second try: the path without its trailing slashes, or with one."""
    redirect = dict(scope)
    if route_path.endswith("/"):
        redirect["path"] = redirect["path"].rstrip("/")
    else:
        redirect["path"] = redirect["path"] + "/"
    return redirect
