"""Counts and times every HTTP request by route template, method and status.

Fed by the outermost middleware (``app.request_context``), so it also sees what the lookup
fast path (``app.subjects.fast_lookup``) answers without the framework and what the request
context refuses (413, 431). The route label is the template the router matched
(``/v1/subjects/{key}``), never the raw path: a client choosing paths must not be able to
create series. A path no route matched is ``unmatched``; a method outside the standard
set is ``other``.

Per request the cost is one dict lookup and a few additions into the series of its
(route, method, status) (``app.metrics.metrics``: the metrics themselves are updated by
the periodic flush).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.types import Scope

from app.metrics.metrics import RECORDER, HttpSeries, Recorder

UNMATCHED = "unmatched"
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


class HttpMetrics:
    """Records one answered request; called by ``RequestContextMiddleware``, which already
    times every request and sees its status (a layer of its own cost the lookup ~4 %)."""

    def __init__(self, api: FastAPI, recorder: Recorder = RECORDER) -> None:
        self.api = api
        # id(route) -> template (routes define __eq__, so they are not hashable); filled
        # on first use, when every router is included.
        self._templates: dict[int, str] | None = None
        self._static: dict[str, str] = {}
        # Every series of the process, by labels (the recorder flushes them) ...
        self._series = recorder.http
        # ... and this application's way to them, by (route id or static path, method,
        # status). Per application: a route's id could be reused by another app's route.
        self._cache: dict[tuple[object, str, int], HttpSeries] = {}

    def record(self, scope: Scope, status: int, elapsed: float) -> None:
        # Keyed by the matched route object (by id: routes define __eq__, so they are not
        # hashable) or, unrouted, by the fast path's static path; anything else unrouted
        # is one key, so a client choosing paths cannot grow the map.
        if self._templates is None:
            self._load_templates()
        route = scope.get("route")
        if route is not None:
            key: tuple[object, str, int] = (id(route), scope["method"], status)
        else:
            path = scope["path"]
            key = (path if path in self._static else UNMATCHED, scope["method"], status)
        series = self._cache.get(key)
        if series is None:
            series = self._resolve(key, route)
        series.observe(elapsed)

    def _route(self, route: object, key: tuple[object, str, int]) -> str:
        if route is None:
            return str(key[0])
        template = (self._templates or {}).get(id(route))
        if template is None:
            template = getattr(route, "path_format", None) or UNMATCHED
        return template

    def _load_templates(self) -> dict[int, str]:
        templates: dict[int, str] = {}
        for context in iter_route_contexts(self.api.router.routes):
            template = context.path_format or context.path
            if not template:
                continue
            templates[id(context.original_route)] = template
            if "{" not in template:
                self._static[template] = template
        self._templates = templates
        return templates

    def _resolve(self, key: tuple[object, str, int], route: object) -> HttpSeries:
        _, method, status = key
        template = self._route(route, key)
        labels = (template, method if method in _METHODS else "other", str(status))
        # Series are shared by the keys that map to the same labels (odd methods).
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = HttpSeries(labels)
        # Keyed by the raw method: a flood of invented methods could grow the cache, so it
        # is capped (the series are not: those methods are all "other"). Beyond the cap a
        # request is still counted, into its labels' series.
        if len(self._cache) < _MAX_KEYS:
            self._cache[key] = series
        return series


# Routes x standard methods x statuses seen is a few hundred.
_MAX_KEYS = 4096
