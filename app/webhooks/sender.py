"""Sending one message to one checked target (SPEC §11, Standard Webhooks 1.0).

The body is ``{"type", "timestamp", "data"}``; ``webhook-id`` is the message's own id on
every retry; ``webhook-signature`` carries one ``v1,`` signature per live secret (two
while a rotated-out secret is still honoured). The request goes to the checked address
(``Target.connect_url``) with the original name as ``Host`` and as TLS SNI / the name the
certificate must match; redirects are not followed (a 3xx is a failed attempt); the answer's
body is never read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from pydantic_core import to_json
from standardwebhooks import Webhook

from app.models import Notification
from app.webhooks.events import webhook_id
from app.webhooks.targets import IPAddress, Target


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def message_body(message: Notification) -> bytes:
    return to_json({"type": message.type, "timestamp": message.created_at, "data": message.data})


def signed_headers(
    message: Notification, body: bytes, secrets: Sequence[str], at: datetime
) -> dict[str, str]:
    msg_id = webhook_id(message.id)
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "vn-fraud-registry-webhooks/1",
    }


def new_client(connect_timeout: float, read_timeout: float) -> httpx.AsyncClient:
    """No proxies from the environment (they would bypass the address check), no
    redirects, no pooled connections (one connection must never serve two names)."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:200]


async def send(
    client: httpx.AsyncClient,
    target: Target,
    headers: dict[str, str],
    body: bytes,
    deadline: float,
) -> Outcome:
    """POST ``body`` to ``target``; the status, or why there is none, within ``deadline`` s.
    The checked addresses are tried in order while connecting to one fails."""
    started = time.monotonic()
    error = "no address"
    try:
        async with asyncio.timeout(deadline):
            for address in target.addresses:
                try:
                    code = await _post(client, target, address, headers, body)
                except httpx.ConnectError as exc:
                    error = _error(exc)
                    continue
                failed = None if 200 <= code < 300 else f"answered {code}"
                return Outcome(code, failed, _since(started))
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        error = _error(exc)
    return Outcome(None, error, _since(started))


async def _post(
    client: httpx.AsyncClient,
    target: Target,
    address: IPAddress,
    headers: dict[str, str],
    body: bytes,
) -> int:
    request = client.build_request(
        "POST",
        target.connect_url(address),
        content=body,
        headers={**headers, "host": target.host_header},
        extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
    )
    response = await client.send(request, stream=True)
    await response.aclose()  # the answer's body is never read
    return response.status_code


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
