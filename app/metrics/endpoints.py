"""``GET /metrics``: Prometheus text format 0.0.4 (what every Prometheus reads), for a
scraper holding the metrics token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from app.errors import Unauthenticated, problem_responses
from app.metrics.auth import MetricsScraper
from app.metrics.collector import render, take_snapshot
from app.metrics.metrics import flush

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {CONTENT_TYPE_PLAIN_0_0_4: {}}},
        **problem_responses(Unauthenticated),
    },
)
async def metrics(request: Request, _: MetricsScraper) -> Response:
    """Every metric of README "Metrics": request counts and latencies by route template,
    lookups by action, batch sizes, and this process's index, queue, pool and audit head.

    Send `Authorization: Bearer <REGISTRY_METRICS_TOKEN>`; absent with
    `REGISTRY_METRICS_ENABLED=false` (404)."""
    snapshot = await take_snapshot(request.app.state.runtime)
    flush()  # this process's counts so far; the other workers flush every second
    return Response(render(snapshot), media_type=CONTENT_TYPE_PLAIN_0_0_4)
