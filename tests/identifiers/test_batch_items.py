"""The batch's shortcut for plain items must agree with full SubjectIn validation."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from app.errors import InvalidInput
from app.subjects.answer import lookup_answer
from app.subjects.batch import _UnlistedItems, item_key
from app.subjects.schemas import BatchItemError
from app.subjects.service import identify_raw
from app.sync.listing import UNLISTED

_TEXT = st.one_of(
    st.sampled_from(["VCB", "970436", "Vietcombank", "MOMO", "momo", "ZALOPAY", "NOPE", ""]),
    st.sampled_from(["0011 0023-45678", "0912 345 678", "+84912345678", "84 912 345 678"]),
    st.text(max_size=70),
    # NUL and lone surrogates (SPEC §8 "Text"): SubjectIn's to refuse, never the shortcut's.
    st.sampled_from(["0912\x00345678", "\ud800", "VCB\udfff", "\x00"]),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=20),
)
# Well-formed items whose strings may hold what no database stores: the shortcut's domain.
_STRINGS = st.one_of(
    st.sampled_from(["VCB", "MOMO", "0912 345 678", "0011002345678", "\x00", "\ud800"]),
    st.sampled_from(["0912\x00345678", "VCB\udfff", "970436\x00", "0912345678\ud800"]),
    st.text(st.characters(codec=None, exclude_categories=()), min_size=1, max_size=20),
)
_PLAIN_ITEM = st.fixed_dictionaries(
    {"kind": st.sampled_from(["bank_account", "ewallet", "phone"]), "identifier": _STRINGS},
    optional={"institution": st.one_of(st.none(), _STRINGS)},
)
_VALUE = st.one_of(st.none(), _TEXT, st.integers(), st.booleans(), st.lists(st.integers()))
_KIND = st.one_of(st.sampled_from(["bank_account", "ewallet", "phone", "PHONE", ""]), _VALUE)
_ITEM = st.one_of(
    st.fixed_dictionaries(
        {"kind": _KIND, "identifier": _VALUE},
        optional={"institution": _VALUE, "status": _VALUE},
    ),
    st.dictionaries(st.text(max_size=12), _VALUE, max_size=4),
    _VALUE,
)


def reference(item: Any, index: int) -> str | BatchItemError:
    """What the batch answered before the shortcut: full pydantic validation per item."""
    try:
        return identify_raw(item, ("body", "items", index)).key
    except InvalidInput as exc:
        return BatchItemError(status=422, title=exc.title, detail=exc.detail, errors=exc.errors)


@settings(max_examples=1000)
@given(item=_ITEM, index=st.integers(min_value=0, max_value=999))
def test_item_key_matches_full_validation(item: Any, index: int) -> None:
    assert item_key(item, index) == reference(item, index)


@settings(max_examples=500)
@given(item=_PLAIN_ITEM, index=st.integers(min_value=0, max_value=999))
def test_item_key_matches_full_validation_for_any_text(item: Any, index: int) -> None:
    assert item_key(item, index) == reference(item, index)


@settings(max_examples=500)
@given(item=st.one_of(_ITEM, _PLAIN_ITEM), index=st.integers(min_value=0, max_value=999))
def test_every_error_entry_can_be_written_as_json(item: Any, index: int) -> None:
    # A surrogate echoed into an entry made the whole batch a 500 (to_json refuses it).
    found = item_key(item, index)
    if isinstance(found, BatchItemError):
        entry = to_json({"index": index, "result": None, "error": found.model_dump(mode="json")})
        assert b"\\u0000" not in entry and b"\\ud8" not in entry


def test_plain_items() -> None:
    assert item_key({"kind": "phone", "identifier": "0912 345 678"}, 0) == "phone::+84912345678"
    bad = item_key({"kind": "bank_account", "institution": "NOPE", "identifier": "123456"}, 7)
    assert isinstance(bad, BatchItemError)
    assert bad.errors == [
        {
            "loc": ["body", "items", 7, "institution"],
            "msg": "unknown bank: NOPE",
            "type": "value_error",
        }
    ]


@given(
    key=st.one_of(
        st.sampled_from(["bank_account:970436:0011002345678", "phone::+84912345678"]),
        st.text(max_size=40),
    ),
    index=st.integers(min_value=0, max_value=999),
    version=st.integers(min_value=0, max_value=2**53),
)
def test_unlisted_entry_bytes_equal_the_encoders(key: str, index: int, version: int) -> None:
    entry = {"index": index, "result": lookup_answer(key, UNLISTED, version), "error": None}
    assert _UnlistedItems(version).encode(index, key) == to_json(entry)
