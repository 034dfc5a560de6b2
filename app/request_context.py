"""Per-request context: the request id (header, logs, change events) and HTTP hygiene.

A pure ASGI middleware, because ``BaseHTTPMiddleware`` costs a task per request on the hot
path. It also enforces the request-body limit (413) while the body streams in.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_BASE, PayloadTooLarge
from app.framework_errors import HeadersTooLarge

if TYPE_CHECKING:
    from app.metrics.middleware import HttpMetrics

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
access_log = logging.getLogger("registry.access")


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_header_bytes: int,
        metrics: HttpMetrics | None = None,
        body_limits: Mapping[str, int] | None = None,
        html_refusal: Callable[[str, int], bytes | None] | None = None,
    ) -> None:
        self.app = app
        # A page instead of problem+json for a refused request to a path people browse
        # (the portal's photo upload): given the path and status, the HTML, or None.
        self.html_refusal = html_refusal
        self.max_body_bytes = max_body_bytes
        # Larger limits for the few paths that take uploads (exact paths): their routes
        # enforce their own, lower limit with a page of their own; this one is the backstop.
        self.body_limits = dict(body_limits or {})
        self.max_header_bytes = max_header_bytes
        # Requests counted and timed here, where the time and status are known anyway.
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        declared = _content_length(scope)
        max_body = self.body_limits.get(scope["path"], self.max_body_bytes)
        refusal = None
        if sum(len(k) + len(v) for k, v in scope["headers"]) > self.max_header_bytes:
            refusal = (431, HeadersTooLarge.type_slug, HeadersTooLarge.title)
        elif declared is not None and declared > max_body:
            refusal = (413, PayloadTooLarge.type_slug, PayloadTooLarge.title)
        if refusal is not None:
            await _send_refusal(send, request_id, *refusal, html=self._page(scope, refusal[0]))
            access_log.info("%s %s %d", scope["method"], scope["path"], refusal[0])
            if self.metrics is not None:
                self.metrics.record(scope, refusal[0], time.perf_counter() - started)
            request_id_var.reset(token)
            return
        limited = _LimitedBody(receive, max_body)

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if limited.exceeded:
                # The framework turns a failed body read into its own 400; the truth is 413.
                if message["type"] == "http.response.start":
                    status = 413
                    await _send_refusal(
                        send,
                        request_id,
                        413,
                        PayloadTooLarge.type_slug,
                        PayloadTooLarge.title,
                        html=self._page(scope, 413),
                    )
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {k.lower() for k, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                # A header the response set itself (the token endpoint's no-store) is kept once.
                headers.extend(h for h in _SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited.receive, send_with_headers)
        finally:
            # The path only: lookups carry identifiers in the body, never in the URL.
            # Successful lookups log at DEBUG: a line per payment check costs throughput.
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.record(scope, status, elapsed)
            path = scope["path"]
            level = (
                logging.DEBUG if status < 400 and path.startswith("/v1/lookup") else logging.INFO
            )
            if access_log.isEnabledFor(level):
                ms = elapsed * 1000
                access_log.log(level, "%s %s %d %.1fms", scope["method"], path, status, ms)
            request_id_var.reset(token)

    def _page(self, scope: Scope, status: int) -> bytes | None:
        return None if self.html_refusal is None else self.html_refusal(scope["path"], status)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_REQUEST_ID.match(text) else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class _LimitedBody:
    """Counts the streamed body and stops reading once it passes the limit."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._received = 0
        self.exceeded = False

    async def receive(self) -> Message:
        message: dict[str, Any] = dict(await self._receive())
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit:
                self.exceeded = True
                raise PayloadTooLarge()
        return message


async def _send_refusal(
    send: Send, request_id: str, status: int, slug: str, title: str, html: bytes | None = None
) -> None:
    body = (
        html or json.dumps({"type": PROBLEM_BASE + slug, "title": title, "status": status}).encode()
    )
    kind = b"text/html; charset=utf-8" if html else b"application/problem+json"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"x-request-id", request_id.encode()),
        *_SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
