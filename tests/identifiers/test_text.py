"""``app.text``: the one rule for request strings (SPEC §8 "Text")."""

from __future__ import annotations

import json
import typing
from typing import Any, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from app.problems import ProblemResponse
from app.subjects.schemas import BatchLookupRequest
from app.text import TEXT_ERROR_TYPE, Text, is_clean, safe_loc, safe_name

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
TEXT = TypeAdapter(Text)


@given(ANY_TEXT)
def test_clean_means_no_nul_and_no_lone_surrogate(value: str) -> None:
    expected = "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    assert is_clean(value) is expected


@given(ANY_TEXT)
def test_text_accepts_exactly_the_clean_strings(value: str) -> None:
    if is_clean(value):
        assert TEXT.validate_python(value) == value
        return
    with pytest.raises(ValidationError) as info:
        TEXT.validate_python(value)
    assert info.value.errors()[0]["type"] in {TEXT_ERROR_TYPE, "string_unicode"}


@given(ANY_TEXT)
def test_safe_names_can_always_be_written_as_utf8_json(value: str) -> None:
    name = safe_name(value)
    json.dumps(safe_loc(["body", name])).encode("utf-8")  # would raise on a surrogate
    assert is_clean(name)
    assert name == value or "\x00" in value or not is_clean(value)


def test_a_problem_that_holds_a_surrogate_still_renders() -> None:
    body = ProblemResponse({"status": 422, "detail": "bad \ud800 here"}).body
    assert json.loads(body) == {"status": 422, "detail": "bad ? here"}


def _bare_strings(annotation: Any) -> bool:
    """True when ``annotation`` holds a ``str`` not wrapped as :data:`Text`."""
    if annotation is str:
        return True
    if get_origin(annotation) is typing.Annotated:
        if annotation.__origin__ is str:
            return Text.__metadata__[0] not in annotation.__metadata__
        return _bare_strings(annotation.__origin__)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(_field_bare(f) for f in annotation.model_fields.values())
    return any(_bare_strings(arg) for arg in get_args(annotation))


def _field_bare(field: FieldInfo) -> bool:
    if field.annotation is str:
        return Text.__metadata__[0] not in field.metadata
    return _bare_strings(field.annotation)


async def test_every_request_string_is_text(app: FastAPI) -> None:
    """Every body field and form field of every route (batch items are checked one by one,
    by SubjectIn, as the batch tests show)."""
    bare, checked = [], 0
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        for param in route.dependant.body_params:
            checked += 1
            annotation = param.field_info.annotation
            if annotation is BatchLookupRequest:
                continue
            if _field_bare(param.field_info):
                bare.append(f"{route.path} {param.name}: {annotation}")
    assert checked >= 10 and not bare, (checked, bare)
