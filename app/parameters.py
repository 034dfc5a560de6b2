"""One check of every route's path and query (SPEC §8 "Text" and "Lists").

Installed once as an application-wide dependency, so no endpoint can forget it:

* a query parameter the route does not declare is a 422 naming it, so a misspelt filter
  (``?organisation=VCB``) is an error rather than a silently unfiltered list;
* a NUL or lone surrogate in a path or query value is a 422 naming the parameter, before
  any endpoint hands the value to the database (PostgreSQL refuses NUL in ``text``).

Body fields are checked by their models (``app.text.Text``); headers are checked where
they are read (``Idempotency-Key`` must be printable; ``If-Match`` is only compared).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant

from app.auth.dependencies import authorise_before_body
from app.errors import InvalidInput
from app.text import TEXT_ERROR_MESSAGE, TEXT_ERROR_TYPE, is_clean, safe_name

UNKNOWN_PARAMETER = "unknown query parameter"


def declared_query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter name the route or any of its dependencies declares.

    Walked per request that has a query string (a few microseconds on list endpoints,
    which then go to the database): nothing to cache, so nothing to go stale.
    """
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared_query_names(sub)
    return frozenset(names)


def parameter_errors(request: Request) -> list[dict[str, Any]]:
    """The 422 entries for the request's path and query, empty when both are fine."""
    errors: list[dict[str, Any]] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and not is_clean(value):
            errors.append(_text_error(["path", name]))
    if not request.scope.get("query_string"):
        return errors
    allowed = declared_query_names(request.scope["route"].dependant)
    for name, value in request.query_params.multi_items():
        loc = ["query", safe_name(name)]
        if name not in allowed:
            errors.append({"loc": loc, "msg": UNKNOWN_PARAMETER, "type": "extra_forbidden"})
        elif not is_clean(value):
            errors.append(_text_error(loc))
    return errors


def _text_error(loc: list[Any]) -> dict[str, Any]:
    return {"loc": loc, "msg": TEXT_ERROR_MESSAGE, "type": TEXT_ERROR_TYPE}


async def check_parameters(request: Request) -> None:
    """The application-wide dependency: raise the 422, after any 401/403 the caller is due.

    It runs before the route's own dependencies, so it asks for the token itself when it
    has something to refuse: a caller without access learns nothing about the operation.
    """
    errors = parameter_errors(request)
    if not errors:
        return
    await authorise_before_body(request)
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    raise InvalidInput(f"invalid parameters: {fields}", errors=errors)
