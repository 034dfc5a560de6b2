"""Batch lookup: up to 1,000 subjects answered from the in-memory index in one request.

A bank screening a payroll or a merchant's payees sends 1,000 identifiers at a time, so
the per-item cost decides the batch's latency. No pydantic model is built per item: a
well-formed item costs a type check, the normaliser and one dict lookup; an unlisted
answer is assembled from constant bytes, a listed one from plain values. Items that are
not plainly well formed go through ``identify_raw``, so error entries have one source, and
tests hold the answers to the single lookup's (the model's) byte for byte and value for value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from app.auth.actor import Actor
from app.errors import InvalidInput
from app.identifiers.normalise import SUBJECT_KINDS, InvalidIdentifier, normalise_subject
from app.runtime import Runtime
from app.subjects.risk import ACTIONS, RISK_NAMES
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


def _unlisted(key: str, registry_version: int) -> dict[str, Any]:
    return {
        "key": key,
        "listed": False,
        "risk_level": UNLISTED.risk_level,
        "risk": RISK_NAMES[UNLISTED.risk_level],
        "action": ACTIONS[UNLISTED.risk_level],
        "categories": [],
        "under_dispute": False,
        "first_flagged_at": None,
        "last_changed_at": None,
        "registry_version": registry_version,
        "warning_id": None,
    }


# Canonical keys are ASCII letters, digits, "_", ":" and "+"; JSON needs no escape for them.
_PLAIN_KEY = re.compile(r"[0-9A-Za-z_:+]+")


class _UnlistedItems:
    """Encodes the "allow" entries of one batch from constant parts: they differ only in
    index and key. Byte for byte what ``to_json`` makes of the same entry (a test holds it
    to that), at a fifth of the cost; a key that would need escaping goes through to_json.
    """

    def __init__(self, registry_version: int) -> None:
        self.registry_version = registry_version
        entry = to_json({"result": _unlisted("\x00", registry_version), "error": None})
        before, after = entry[1:].split(b'"\\u0000"')
        self.before = b"," + before + b'"'
        self.after = b'"' + after

    def encode(self, index: int, key: str) -> bytes:
        if _PLAIN_KEY.fullmatch(key) is None:
            entry = {"index": index, "result": _unlisted(key, self.registry_version)}
            return to_json({**entry, "error": None})
        return b'{"index":%d%s%s%s' % (index, self.before, key.encode(), self.after)


@dataclass(slots=True)
class _IndexedAnswer:
    """A subject in the index: its answer as JSON-ready values, and what a warning needs.
    (A LookupResult model per listed item cost a tenth of the batch.)"""

    index: int
    key: str
    risk_level: int
    action: str
    registry_version: int
    listing: Listing
    warning_id: str | None = None

    def entry(self) -> dict[str, Any]:
        listing, level = self.listing, self.risk_level
        result = {
            "key": self.key,
            "listed": level > 0,
            "risk_level": level,
            "risk": RISK_NAMES[level],
            "action": self.action,
            "categories": list(listing.categories),
            "under_dispute": listing.under_dispute,
            "first_flagged_at": listing.first_flagged_at,
            "last_changed_at": listing.last_changed_at,
            "registry_version": self.registry_version,
            "warning_id": self.warning_id,
        }
        return {"index": self.index, "result": result, "error": None}


async def answer_batch(runtime: Runtime, actor: Actor, items: Sequence[Any]) -> bytes:
    """The JSON body of a batch answer (the ``BatchLookupResponse`` shape), in item order.

    Rate limits, warnings and lookup counts apply exactly as for single lookups.
    """
    mirror = runtime.mirror
    seq = mirror.seq
    keys = [item_key(item, index) for index, item in enumerate(items)]
    valid = [key for key in keys if isinstance(key, str)]
    await runtime.limiter.check_identifiers(actor, valid)
    listings = mirror.listings
    # Items whose subject is in the index (listed or under dispute) get a full answer and,
    # for warn or hold, a warning each; the rest all get the same "allow", only counted.
    indexed: dict[int, _IndexedAnswer] = {}
    for index, key in enumerate(keys):
        if isinstance(key, str) and key in listings:
            listing = mirror.listing(key)
            level = listing.risk_level
            indexed[index] = _IndexedAnswer(index, key, level, ACTIONS[level], seq, listing)
    await record_lookups(runtime, actor, list(indexed.values()), total=len(valid))
    unlisted = _UnlistedItems(seq)
    out: list[bytes] = []
    for index, key in enumerate(keys):
        if isinstance(key, BatchItemError):
            error = key.model_dump(mode="json")
            out.append(to_json({"index": index, "result": None, "error": error}))
            continue
        found = indexed.get(index)
        if found is None:
            out.append(unlisted.encode(index, key))
        else:
            out.append(to_json(found.entry()))
    return b'{"items":[%s],"registry_version":%d}' % (b",".join(out), seq)
