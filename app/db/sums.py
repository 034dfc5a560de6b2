"""Exact SQL sums that cannot overflow, on SQLite and PostgreSQL.

SQLite's ``SUM()`` over integers raises "integer overflow" once a total passes 2**63 - 1
(PostgreSQL's ``SUM(bigint)`` returns ``numeric`` and would not). So every sum is taken as
two aggregates over parts of each value, each of which stays far inside 64 bits, and the
parts are recombined exactly with Python's unbounded ints::

    low  = x % 2**32                  -- |low| < 2**32, the sign of x on both databases
    high = (x - low) / 2**32          -- an exact division whatever the rounding rule
    SUM(x) == SUM(high) * 2**32 + SUM(low)

The identity holds row by row for any BIGINT ``x``, negative ones included, because
``x - low`` is a multiple of 2**32 (no division rounds) and never exceeds ``|x|`` (no
subtraction overflows). Each part's sum stays below 2**63 for any 2**31 rows of any BIGINT
values. NULLs are skipped as by ``SUM()``; a group with no value sums to 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, func, literal_column

SPLIT = 2**32
# Inlined, not bound: the same SQL on every call and no parameter to repeat or cast.
_SPLIT = literal_column(str(SPLIT), BigInteger)

SumParts = tuple[ColumnElement[Any], ColumnElement[Any]]


def sum_parts(column: ColumnElement[Any] | Any) -> SumParts:
    """The two aggregates ``(high, low)`` whose :func:`combine` is ``SUM(column)``, or 0."""
    low = column % _SPLIT
    high = (column - low) // _SPLIT
    return func.coalesce(func.sum(high), 0), func.coalesce(func.sum(low), 0)


def combine(high: int | Decimal, low: int | Decimal) -> int:
    """The exact sum from the two parts (ints on SQLite, ``numeric`` on PostgreSQL)."""
    return int(high) * SPLIT + int(low)
