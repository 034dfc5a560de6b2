"""Text every database can store and every response can carry (SPEC §8 "Text").

PostgreSQL refuses a NUL byte in ``text`` and no UTF-8 encoder accepts a lone surrogate
(JSON can spell one as ``"\\ud800"``), so either one reaching a query or a response is a
503 or a 500 instead of the 422 the caller deserves. Every request string is checked
here: body fields through :data:`Text`, path and query values in ``app.parameters``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

TEXT_ERROR_TYPE = "text_invalid"
TEXT_ERROR_MESSAGE = "must not contain NUL characters or lone surrogates"
# The rule in JSON Schema terms, so clients and schema-driven fuzzers know it. NUL only:
# a surrogate range is not a valid class in every regex engine that reads the schema.
TEXT_PATTERN = "^[^\\u0000]*$"

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MAX_NAME_IN_ERROR = 64


def is_clean(value: str) -> bool:
    """True when ``value`` holds neither a NUL nor a lone surrogate."""
    if value.isascii():  # the common case: one C-level scan each, no regex
        return "\x00" not in value
    return _UNSTORABLE.search(value) is None


def _check(value: str) -> str:
    if not is_clean(value):
        raise PydanticCustomError(TEXT_ERROR_TYPE, TEXT_ERROR_MESSAGE)
    return value


class _DocumentRule:
    """Adds :data:`TEXT_PATTERN` to a field's JSON Schema unless it has a stricter one."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if schema.get("type") == "string":
            schema.setdefault("pattern", TEXT_PATTERN)
        return schema


Text = Annotated[str, AfterValidator(_check), _DocumentRule()]
"""A request string: a 422 naming the field when it holds a NUL or a lone surrogate."""


def safe_name(value: Any) -> Any:
    """A field name fit to echo in an error: unchanged when clean, else escaped to ASCII.

    Names come from the caller too (an unknown JSON key, a query parameter), and an error
    must never carry the raw character that made it unanswerable.
    """
    if not isinstance(value, str) or is_clean(value):
        return value
    # NUL becomes the four characters \x00, a lone surrogate the six of \ud800.
    escaped = value.encode("unicode_escape").decode("ascii")
    return escaped[:_MAX_NAME_IN_ERROR]


def safe_loc(loc: Iterable[Any]) -> list[Any]:
    """An error ``loc`` with every part made :func:`safe_name`."""
    return [safe_name(part) for part in loc]
