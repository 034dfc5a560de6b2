from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.db.session import ReadSession
from app.errors import (
    AUTH_ERRORS,
    CursorAhead,
    InvalidInput,
    ServiceUnavailable,
    problem_responses,
)
from app.identifiers.vietqr import InvalidVietQR, parse_vietqr
from app.pagination import Cursor, Limit, decode_cursor, encode_cursor
from app.subjects.answer import change_entry, encode
from app.subjects.auth import HistoryReader, Looker, Syncer
from app.subjects.batch import answer_batch
from app.subjects.repository import SubjectEventRepository
from app.subjects.schemas import (
    BatchLookupRequest,
    BatchLookupResponse,
    ChangesPage,
    HistoryEvent,
    HistoryPage,
    LookupResult,
    SubjectIn,
    SubjectKey,
    SubjectRecord,
    VietQRLookupRequest,
    VietQRLookupResult,
)
from app.subjects.service import (
    SubjectNotFound,
    answer_one,
    canonical_key,
    identify,
    subject_record,
)
from app.sync.listing import listing_from_state
from app.sync.mirror import RegistryMirror

router = APIRouter(tags=["lookup"])
history_router = APIRouter(tags=["subjects"])


async def _fresh_mirror(request: Request) -> RegistryMirror:
    mirror: RegistryMirror = request.app.state.runtime.mirror
    if not mirror.fresh and not await mirror.ensure_fresh():
        # Better no answer than an "allow" that may be older than the freshness bound.
        raise ServiceUnavailable("listing index is not in step with the database")
    return mirror


@router.post(
    "/v1/lookup",
    response_model=LookupResult,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, ServiceUnavailable),
)
async def lookup(request: Request, body: SubjectIn, actor: Looker) -> Response:
    """Is this payee listed? Send one subject; act on `action` (`allow`, `warn`, `hold`).

    Identifiers are normalised first (SPEC §3), so `VCB` / `970436` and `0912 345 678` /
    `+84912345678` are the same subject. The answer never names reporters, cases or holders.
    `registry_version` says how fresh the answer is.
    """
    await _fresh_mirror(request)
    key = identify(body).key
    runtime = request.app.state.runtime
    await runtime.limiter.check_identifiers(actor, [key])
    # Built and encoded as on the fast path (app.subjects.answer): the same bytes.
    result = await answer_one(runtime, actor, key)
    return Response(encode(result), media_type="application/json")


@router.post(
    "/v1/lookup/batch",
    response_model=BatchLookupResponse,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, ServiceUnavailable),
)
async def lookup_batch(request: Request, body: BatchLookupRequest, actor: Looker) -> Response:
    """Check 1-1,000 subjects at once; answers keep the order of `items`, and an invalid
    item gets its own `error` entry instead of failing the batch."""
    await _fresh_mirror(request)
    payload = await answer_batch(request.app.state.runtime, actor, body.items)
    return Response(payload, media_type="application/json")


@router.post(
    "/v1/lookup/vietqr",
    response_model=VietQRLookupResult,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, ServiceUnavailable),
)
async def lookup_vietqr(request: Request, body: VietQRLookupRequest, actor: Looker) -> Response:
    """Check the payee of a VietQR code: send the scanned string as `payload`. A bad CRC or
    structure is a 422 saying why. The answer adds the decoded BIN, account and amount."""
    await _fresh_mirror(request)
    try:
        qr = parse_vietqr(body.payload)
    except InvalidVietQR as exc:
        raise InvalidInput(
            exc.reason,
            errors=[{"loc": ["body", "payload"], "msg": exc.reason, "type": "value_error"}],
        ) from None
    identifier = identify(
        SubjectIn(kind="bank_account", institution=qr.bin, identifier=qr.account),
        ("body", "payload"),
    )
    runtime = request.app.state.runtime
    await runtime.limiter.check_identifiers(actor, [identifier.key])
    result = await answer_one(runtime, actor, identifier.key)
    decoded = {"bin": qr.bin, "account": qr.account, "amount_vnd": qr.amount_vnd}
    return Response(encode({**result, **decoded}), media_type="application/json")


@router.get(
    "/v1/changes",
    response_model=ChangesPage,
    tags=["sync"],
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, CursorAhead),
)
async def changes(
    request: Request,
    session: ReadSession,
    actor: Syncer,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Limit = 100,
) -> Response:
    """Every change after `after` that altered some subject's lookup answer, in `seq` order.

    Each entry carries the subject's whole lookup answer at that `seq` (`risk`, `categories`,
    `under_dispute`, ...), so replaying from 0 reproduces every current answer. Keep
    `next_after` and ask again. An `after` beyond `registry_version` is 409 `cursor-ahead`
    (the registry was restored from a backup): resynchronise rather than skip changes."""
    repository = SubjectEventRepository(session)
    head = await repository.head()
    if after > head:
        raise CursorAhead(after, head)
    events = await repository.subject_changes(after, limit)
    items = [
        change_entry(e.seq, e.subject_key or e.entity_id, listing_from_state(e.state))
        for e in events
    ]
    page = {"items": items, "next_after": items[-1]["seq"] if items else after}
    return Response(encode({**page, "registry_version": head}), media_type="application/json")


@history_router.get(
    "/v1/subjects/{key}",
    response_model=SubjectRecord,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, SubjectNotFound),
)
async def read_subject(
    key: SubjectKey,
    session: ReadSession,
    actor: HistoryReader,
    as_of: Annotated[datetime | None, Query(description="RFC 3339 time")] = None,
    version: Annotated[int | None, Query(ge=0, le=2**62, description="registry version")] = None,
) -> SubjectRecord:
    """A subject's full record: lookup fields, flags, disputes, recovery totals. With
    `as_of` (a time) or `version` (a registry version) it is the record as it stood then."""
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidInput(
            "as_of needs a time zone (RFC 3339)",
            errors=[{"loc": ["query", "as_of"], "msg": "missing time zone", "type": "value_error"}],
        )
    head = await SubjectEventRepository(session).head()
    return await subject_record(
        session, canonical_key(key), version=version, as_of=as_of, head=head
    )


@history_router.get(
    "/v1/subjects/{key}/history",
    response_model=HistoryPage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, SubjectNotFound),
)
async def subject_history(
    key: SubjectKey,
    session: ReadSession,
    actor: HistoryReader,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> HistoryPage:
    """Every change event of the subject (its flags, disputes, recoveries and answer), in
    order, with actor, token id, request id and the entity's full new state."""
    canonical = canonical_key(key)
    after = int(decode_cursor(cursor, 1)[0]) if cursor else 0
    events = await SubjectEventRepository(session).history(canonical, after, limit + 1)
    if not events and after == 0:
        raise SubjectNotFound(f"no subject {canonical}")
    items = [HistoryEvent.model_validate(e, from_attributes=True) for e in events[:limit]]
    next_cursor = encode_cursor([items[-1].seq]) if len(events) > limit else None
    return HistoryPage(items=items, next_cursor=next_cursor)
