"""Batch lookup: up to 1,000 subjects answered from the in-memory index in one request.

A bank screening a payroll or a merchant's payees sends 1,000 identifiers at a time, so
the per-item cost decides the batch's latency. No pydantic model is built per item: a
well-formed item costs a type check, the normaliser and one dict lookup; an unlisted
answer is assembled from constant bytes, a listed one by the single lookup's builder
(``app.subjects.answer``). Items that are not plainly well formed go through
``identify_raw``, so error entries have one source, and tests hold each item's answer to
the single lookup's, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json

from app.auth.actor import Actor
from app.errors import InvalidInput
from app.identifiers.normalise import SUBJECT_KINDS, InvalidIdentifier, normalise_subject
from app.runtime import Runtime
from app.subjects.answer import encode, lookup_answer
from app.subjects.schemas import BatchItemError
from app.subjects.service import identify_raw
from app.sync.listing import UNLISTED, Listing
from app.text import is_clean
from app.warnings.service import record_lookups

_FIELDS = frozenset(("kind", "institution", "identifier"))
_MAX_LENGTH = 64  # SubjectIn's max_length for institution and identifier


def item_key(item: Any, index: int) -> str | BatchItemError:
    """The canonical key of one batch item, or its error entry (422, naming the field)."""
    loc = ("body", "items", index)
    # The shortcut takes only what SubjectIn would accept unchanged (a property test holds
    # it to that); anything else is validated by the model, which words the error.
    if type(item) is dict and item.keys() <= _FIELDS:
        kind, institution, identifier = (
            item.get("kind"),
            item.get("institution"),
            item.get("identifier"),
        )
        if (
            type(kind) is str
            and kind in SUBJECT_KINDS
            and type(identifier) is str
            and 0 < len(identifier) <= _MAX_LENGTH
            and (institution is None or type(institution) is str)
            and len(institution or "") <= _MAX_LENGTH
            # A NUL or lone surrogate is SubjectIn's to refuse: the normaliser would echo
            # it into an error that no JSON encoder can write.
            and is_clean(identifier)
            and (institution is None or is_clean(institution))
        ):
            try:
                return normalise_subject(kind, institution, identifier).key
            except InvalidIdentifier as exc:
                errors = [{"loc": [*loc, exc.field], "msg": exc.reason, "type": "value_error"}]
                return _error(InvalidInput(exc.reason, errors=errors))
    try:
        return identify_raw(item, loc).key
    except InvalidInput as exc:
        return _error(exc)


def _error(exc: InvalidInput) -> BatchItemError:
    return BatchItemError(status=422, title=exc.title, detail=exc.detail, errors=exc.errors)


# Canonical keys are ASCII letters, digits, "_", ":" and "+"; JSON needs no escape for them.
_PLAIN_KEY = re.compile(r"[0-9A-Za-z_:+]+")


def entry(index: int, result: bytes) -> bytes:
    """One item of the batch body around an encoded answer: what ``to_json`` makes of
    ``{"index": index, "result": answer, "error": None}``, with the answer's bytes verbatim."""
    return b'{"index":%d,"result":%s,"error":null}' % (index, result)


class _UnlistedItems:
    """Encodes the "allow" entries of one batch from constant parts: they differ only in
    index and key. The parts are cut from the one builder's answer for a placeholder key,
    so they are its bytes (a test holds them to that), at a fifth of the cost; a key that
    would need escaping is encoded whole.
    """

    def __init__(self, registry_version: int) -> None:
        self.registry_version = registry_version
        result = entry(0, encode(lookup_answer("\x00", UNLISTED, registry_version)))
        before, after = result[len(b'{"index":0') :].split(b'"\\u0000"')
        self.before = before + b'"'
        self.after = b'"' + after

    def encode(self, index: int, key: str) -> bytes:
        if _PLAIN_KEY.fullmatch(key) is None:
            return entry(index, encode(lookup_answer(key, UNLISTED, self.registry_version)))
        return b'{"index":%d%s%s%s' % (index, self.before, key.encode(), self.after)


async def answer_batch(runtime: Runtime, actor: Actor, items: Sequence[Any]) -> bytes:
    """The JSON body of a batch answer (the ``BatchLookupResponse`` shape), in item order.

    Rate limits, warnings and lookup counts apply exactly as for single lookups; a subject
    named several times is answered the same each time, with one warning.
    """
    mirror = runtime.mirror
    seq = mirror.seq
    keys = [item_key(item, index) for index, item in enumerate(items)]
    valid = [key for key in keys if isinstance(key, str)]
    await runtime.limiter.check_identifiers(actor, valid)
    listings = mirror.listings
    # Subjects in the index (listed or under dispute) get a full answer and, for warn or
    # hold, a warning; the rest all get the same "allow", only counted.
    found: dict[str, Listing] = {}
    for valid_key in valid:
        if valid_key in listings and valid_key not in found:
            found[valid_key] = mirror.listing(valid_key)
    warning_ids = await record_lookups(
        runtime,
        actor,
        {key: listing.risk_level for key, listing in found.items()},
        total=len(valid),
        registry_version=seq,
    )
    # Each distinct indexed subject is encoded once, then repeated verbatim.
    answers = {
        key: encode(lookup_answer(key, listing, seq, warning_ids.get(key)))
        for key, listing in found.items()
    }
    runtime.lookup_metrics.batch(len(items), valid, found)
    unlisted = _UnlistedItems(seq)
    out: list[bytes] = []
    for index, key in enumerate(keys):
        if isinstance(key, BatchItemError):
            error = key.model_dump(mode="json")
            out.append(to_json({"index": index, "result": None, "error": error}))
            continue
        answer = answers.get(key)
        out.append(unlisted.encode(index, key) if answer is None else entry(index, answer))
    return b'{"items":[%s],"registry_version":%d}' % (b",".join(out), seq)
