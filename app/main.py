"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI

from app.admin.endpoints import router as admin_router
from app.apidocs.endpoints import install_docs
from app.audit.endpoints import router as audit_router
from app.audit.startup import verify_state_at_start
from app.auth.key_store import KeyFollower, load_signing_keys
from app.config import Settings, get_settings
from app.console.install import install_console, upload_body_limits
from app.db.engine import create_database
from app.db.migrations import schema_head
from app.disputes.endpoints import router as disputes_router
from app.flags.endpoints import router as flags_router
from app.flags.expiry import run_expiry
from app.health.endpoints import router as health_router
from app.holds.endpoints import router as holds_router
from app.holds.lapse import run_lapsing
from app.metrics.endpoints import router as metrics_router
from app.metrics.metrics import LookupMetrics, run_flusher
from app.metrics.metrics import flush as flush_metrics
from app.metrics.middleware import HttpMetrics
from app.metrics.multiprocess import worker_started, worker_stopping
from app.oauth.endpoints import router as oauth_router
from app.oauth.endpoints import token_router
from app.openapi import build_openapi
from app.parameters import check_parameters
from app.portal.install import install_portal
from app.portal.pages import refusal_page
from app.problems import install_problem_handlers
from app.ratelimit.service import Limiter
from app.recovery.endpoints import router as recovery_router
from app.reports.endpoints import router as reports_router
from app.request_context import RequestContextMiddleware
from app.runtime import Runtime
from app.shutdown import drain_on_sigterm
from app.subjects.endpoints import history_router
from app.subjects.endpoints import router as lookup_router
from app.subjects.fast_lookup import LookupFastPath
from app.sync.mirror import RegistryMirror
from app.typologies.endpoints import router as typologies_router
from app.users.cleanup import run_session_cleanup
from app.users.endpoints import router as users_router
from app.warnings.endpoints import router as warnings_router
from app.warnings.seal import run_sealing
from app.warnings.writer import WarningWriter
from app.webhooks.endpoints import router as webhooks_router
from app.webhooks.inbox import router as inbox_router
from app.webhooks.worker import run_delivery

log = logging.getLogger(__name__)

API_DESCRIPTION = """\
Registry of payment accounts, e-wallets and phone numbers suspected of online fraud in
Vietnam. Banks check a payee before a transfer (`POST /v1/lookup`); police, banks and
telecoms flag; holders' banks dispute; auditors verify every change.

Authenticate with OAuth 2.0 client credentials at `POST /v1/oauth/token` and send the
token as `Authorization: Bearer <token>`. Errors are `application/problem+json` (RFC 9457),
except the token endpoint's, which are RFC 6749 §5.2 JSON (`error`, `error_description`).
"""


def release_free_heap() -> None:
    """Hand back to the OS the heap that loading the index used and freed (glibc only).

    Streaming a million rows leaves freed but unreturned pages behind: about 30 MB of RSS
    with 1,000,000 subjects, measured with ``malloc_trim`` called into a running worker.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, macOS): nothing to trim
        return
    libc.malloc_trim(0)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; nothing touches the database until the lifespan starts."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings)
        app.state.runtime = runtime
        tasks = [asyncio.create_task(runtime.mirror.run(), name="mirror-poll")]
        tasks.extend(background_tasks(runtime))
        if settings.metrics_enabled:
            tasks.append(asyncio.create_task(run_flusher(), name="metrics-flush"))
        if settings.gc_freeze_after_start:
            gc.collect()
            gc.freeze()
        release_free_heap()
        runtime.ready = True
        if settings.metrics_enabled:
            worker_started()
        drain_on_sigterm(runtime, settings.shutdown_drain_seconds)
        try:
            yield
        finally:
            runtime.ready = False
            if settings.metrics_enabled:
                flush_metrics()
                worker_stopping()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await runtime.warnings.close()
                await runtime.counter.flush(runtime.db)
                await runtime.public_counter.flush(runtime.db)
            except Exception:  # shutting down with the database gone: counts are lost
                log.warning("could not flush lookup counts at shutdown", exc_info=True)
            await runtime.limiter.close()
            await runtime.db.dispose()

    app = FastAPI(
        title="Suspicious-account registry",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # Served by app/apidocs from vendored assets: FastAPI's defaults load them from a CDN.
        docs_url=None,
        redoc_url=None,
        # Every route: unknown query parameters and unstorable path/query text are a 422.
        dependencies=[Depends(check_parameters)],
    )
    install_problem_handlers(app)
    for router in routers():
        app.include_router(router)
    install_docs(app)
    install_console(app)
    install_portal(app, settings)
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    # Added before the request context so it runs inside it (ids, headers, limits, logs).
    app.add_middleware(LookupFastPath, api=app, enabled=settings.lookup_fast_path)
    # Outermost: it also counts and times every request (metrics), the fast path's and
    # its own refusals too.
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        metrics=HttpMetrics(app) if settings.metrics_enabled else None,
        body_limits=upload_body_limits(settings),
        html_refusal=refusal_page,
    )
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


async def start_runtime(settings: Settings) -> Runtime:
    db = create_database(settings)
    keys = await load_signing_keys(db, settings.jwt_key_file)
    mirror = RegistryMirror(
        db,
        poll_interval=settings.index_poll_interval_seconds,
        max_staleness=settings.index_max_staleness_seconds,
    )
    await mirror.load()
    return Runtime(
        settings=settings,
        db=db,
        keys=keys,
        mirror=mirror,
        limiter=Limiter(settings, db),
        warnings=WarningWriter(db),
        schema_head=schema_head(),
        lookup_metrics=LookupMetrics(settings.metrics_enabled),
    )


def routers() -> list[Any]:
    return [
        health_router,
        token_router,
        oauth_router,
        lookup_router,
        flags_router,
        history_router,
        disputes_router,
        recovery_router,
        holds_router,
        audit_router,
        warnings_router,
        reports_router,
        typologies_router,
        admin_router,
        users_router,
        webhooks_router,
        inbox_router,
    ]


def background_tasks(runtime: Runtime) -> list[asyncio.Task[None]]:
    follower = KeyFollower(
        runtime.db,
        runtime.settings.jwt_key_file,
        runtime.settings.key_poll_interval_seconds,
        runtime.use_keys,
    )
    tasks = [
        asyncio.create_task(follower.run(), name="signing-key-poll"),
        asyncio.create_task(run_expiry(runtime), name="flag-expiry"),
        asyncio.create_task(run_lapsing(runtime), name="hold-lapse"),
        asyncio.create_task(runtime.warnings.run(), name="warning-writer"),
        asyncio.create_task(
            run_session_cleanup(runtime.db, runtime.settings), name="console-session-cleanup"
        ),
        asyncio.create_task(runtime.counter.run(runtime.db, 5.0), name="lookup-counts"),
        asyncio.create_task(runtime.public_counter.run(runtime.db, 5.0), name="public-counts"),
        asyncio.create_task(verify_state_at_start(runtime), name="verify-state"),
        asyncio.create_task(
            run_sealing(
                runtime.db,
                runtime.settings.warning_seal_interval_seconds,
                runtime.settings.warning_seal_lag_seconds,
            ),
            name="warning-seal",
        ),
    ]
    if runtime.settings.webhook_worker:
        tasks.append(
            asyncio.create_task(run_delivery(runtime.db, runtime.settings), name="webhook-delivery")
        )
    return tasks
