"""Streaming readers for import files: CSV (UTF-8, BOM tolerated) and XLSX (first sheet).

Both check the header row before the first data row is read and then yield one
:class:`SourceRow` at a time, so a file of any length is read in constant memory.
Row numbers are those a person sees in the file: the header is row 1.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any, NamedTuple

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from app.imports.errors import ImportFileError

COLUMNS = (
    "kind",
    "institution",
    "identifier",
    "category",
    "description",
    "amount_lost_vnd",
    "case_reference",
    "holder_name",
)
REQUIRED = COLUMNS[:4]
EXTENSIONS = (".csv", ".xlsx")

_BOM = b"\xef\xbb\xbf"
# No legitimate physical line is anywhere near this long (a description is at most 2,000
# characters); the limit keeps a file without newlines from being read into memory whole.
MAX_LINE_BYTES = 1 << 20
_COUNT_CHUNK = 1 << 20


class SourceRow(NamedTuple):
    """One data row: every known column (None when blank or absent) and ``extra``, the
    1-based position of the first non-blank cell beyond the header, or 0 if there is none."""

    number: int
    values: dict[str, str | None]
    extra: int = 0


def _cell(value: Any) -> str | None:
    """A cell as trimmed text; blank is None. Whole-number floats lose their ``.0``
    because spreadsheets store every number as a float."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime | date):
        value = value.isoformat()
    text = str(value).strip()
    return text or None


def parse_header(cells: Sequence[Any]) -> list[str]:
    """Column names in file order, lower-cased and trimmed; raises on any problem."""
    names = [(_cell(c) or "").lower() for c in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ImportFileError("the header row is empty")
    problems: list[str] = []
    if "" in names:
        problems.append(f"column {names.index('') + 1} has no name")
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}")
    if problems:
        raise ImportFileError(
            f"bad header: {'; '.join(problems)} (expected columns: {', '.join(COLUMNS)})"
        )
    return names


def _rows(header: list[str], records: Iterable[tuple[int, Sequence[Any]]]) -> Iterator[SourceRow]:
    width = len(header)
    for number, cells in records:
        texts = [_cell(c) for c in cells]
        if not any(texts):
            continue  # spreadsheets are full of blank rows; they carry nothing to import
        values: dict[str, str | None] = dict.fromkeys(COLUMNS)
        values.update(zip(header, texts, strict=False))
        extra = next((i + 1 for i in range(width, len(texts)) if texts[i] is not None), 0)
        yield SourceRow(number, values, extra)


class _CsvRecords:
    """``csv.reader`` over lines decoded one at a time, so that an encoding error can name
    the row it is in (a text-mode file decodes in 8 KiB chunks and cannot)."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.done = 0  # records completed: the line being decoded belongs to done + 1

    def _lines(self) -> Iterator[str]:
        first = True
        for raw in iter(partial(self.file.readline, MAX_LINE_BYTES), b""):
            if first:
                raw, first = raw.removeprefix(_BOM), False
            if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise ImportFileError(f"row {self.done + 1}: line longer than {MAX_LINE_BYTES} B")
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"row {self.done + 1}: not valid UTF-8 (byte {exc.start + 1} of the line);"
                    " save the file as CSV UTF-8"
                ) from None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(self._lines(), strict=True)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError(f"row {self.done + 1}: malformed CSV ({exc})") from None
            self.done += 1
            yield self.done, cells


@contextmanager
def _open_csv(path: Path) -> Iterator[Iterator[SourceRow]]:
    try:
        file = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"cannot open {path.name}: {exc.strerror}") from None
    with file:
        records = iter(_CsvRecords(file))
        first = next(records, None)
        if first is None:
            raise ImportFileError("the file is empty: expected a header row")
        yield _rows(parse_header(first[1]), records)


def _sheet_records(sheet: Any) -> Iterator[tuple[int, Sequence[Any]]]:
    """The sheet's rows numbered from 1; whatever a malformed sheet makes the parser raise
    (an XML syntax error, a bad CRC, a value it cannot convert) is an ImportFileError."""
    rows = sheet.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # a third-party parser on untrusted input: any failure
            raise ImportFileError(f"row {number + 1}: not a readable XLSX sheet ({exc})") from None
        number += 1
        yield number, cells


def check_unpacked_size(path: Path, limit: int) -> None:
    """Refuse a workbook whose parts would unpack to more than ``limit`` bytes (a zip bomb:
    a small upload that expands to gigabytes). The sizes checked are the ones the archive
    declares, and reading a part stops at its declared size, so they cannot lie."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(f"not a readable XLSX workbook: {exc}") from None
    if len(parts) > 10_000 or sum(part.file_size for part in parts) > limit:
        raise ImportFileError(f"the workbook unpacks to more than {limit} bytes")


@contextmanager
def _open_xlsx(path: Path) -> Iterator[Iterator[SourceRow]]:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(f"not a readable XLSX workbook: {exc}") from None
    except Exception as exc:  # e.g. an XML syntax error in a part: still the file's fault
        raise ImportFileError(f"not a readable XLSX workbook: {exc}") from None
    try:
        if not book.worksheets:
            raise ImportFileError("the workbook has no worksheet")
        sheet = book.worksheets[0]
        # The stored dimension is written by whatever made the file and may be stale;
        # read-only iteration stops at it, which would drop rows without a word.
        sheet.reset_dimensions()
        # Missing rows come out as empty tuples, so counting keeps the numbers true.
        records = _sheet_records(sheet)
        first = next(records, None)
        if first is None:
            raise ImportFileError("the first sheet is empty: expected a header row")
        yield _rows(parse_header(first[1]), records)
    finally:
        book.close()


@contextmanager
def open_rows(path: Path) -> Iterator[Iterator[SourceRow]]:
    """Open an import file and check its header; the body iterates over its data rows.

    Raises :class:`ImportFileError` for an unsupported extension, an unreadable or empty
    file, a bad header and, while iterating, for undecodable or malformed CSV.
    """
    opener = {".csv": _open_csv, ".xlsx": _open_xlsx}.get(path.suffix.lower())
    if opener is None:
        raise ImportFileError(
            f"unsupported file type {path.suffix or '(none)'!r}: use {' or '.join(EXTENSIONS)}"
        )
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    with opener(path) as rows:
        yield rows


def count_data_rows(path: Path) -> int | None:
    """A cheap estimate of the data rows, for a progress bar's total.

    CSV: the number of line breaks after the header (an upper bound: a quoted field may
    span lines, and blank lines count). XLSX: the sheet's recorded dimension, or None
    when the workbook does not record one. Never reads the rows themselves.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        lines, last = 0, b"\n"
        with path.open("rb") as file:
            for chunk in iter(partial(file.read, _COUNT_CHUNK), b""):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        lines += last != b"\n"  # a last line without its line break
        return max(lines - 1, 0)
    if suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        try:
            max_row = book.worksheets[0].max_row if book.worksheets else None
        finally:
            book.close()
        return None if max_row is None else max(max_row - 1, 0)
    return None
