"""``registry import FILE --org C``: bulk flags, all-or-nothing per file, safe to re-run.

The whole file is one write transaction. Rows are streamed and handled in batches; once
any row is found invalid nothing more is written, the rest of the file is still checked
so that every error is reported, and the transaction is rolled back.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.scopes import ALLOWED_KINDS, Scope
from app.db.engine import Database
from app.db.unit_of_work import Refreshable, unit_of_work
from app.imports.errors import ImportFileError, ImportRefused
from app.imports.reader import SourceRow, check_unpacked_size, open_rows
from app.imports.rows import PreparedRow, RowError, prepare_row
from app.imports.writer import BatchWriter
from app.models import Organisation
from app.organisations.repository import OrganisationRepository
from app.organisations.service import OrganisationNotFound

__all__ = [
    "BATCH_SIZE",
    "MAX_ERRORS",
    "FileCheck",
    "ImportFileError",
    "ImportRefused",
    "ImportReport",
    "RowError",
    "check_file",
    "import_flags",
]

BATCH_SIZE = 2000
MAX_ERRORS = 1000
# The per-batch lookups are prepared statements. PostgreSQL would settle on a generic plan
# while the tables are still small and keep it as they grow inside this transaction: a
# scan of every flag per batch, quadratic over the file (measured: 85 ms per batch at
# 20k flags, 5.6 s at 100k). A plan per execution follows the growth and uses the indexes.
_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """The outcome of one file. When ``committed`` is false nothing was written and
    ``created`` and ``skipped`` are 0; ``errors`` holds the first :data:`MAX_ERRORS` of
    ``error_count`` row errors. ``rows`` counts the non-blank data rows read. ``skipped``
    counts rows not flagged: already imported, repeated in the file, or (``already_flagged``,
    a part of ``skipped``) about a subject the organisation already holds an active flag on:
    one organisation holds at most one active flag per subject (SPEC §8)."""

    created: int = 0
    skipped: int = 0
    already_flagged: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    committed: bool = False

    def add_errors(self, errors: list[RowError]) -> None:
        self.error_count += len(errors)
        self.errors.extend(errors[: MAX_ERRORS - len(self.errors)])


def import_actor(org: Organisation, path: Path) -> Actor:
    """Who the change events name: the organisation, through the command line."""
    request_id = f"import:{path.name}"[:200]  # change_event.request_id is VARCHAR(200)
    return Actor(org.id, org.code, org.kind, org.institution, "cli:import", None, request_id)


async def _reporting_org(session: AsyncSession, org_code: str) -> Organisation:
    org = await OrganisationRepository(session).by_code(org_code)
    if org is None:
        raise OrganisationNotFound(f"no organisation {org_code}")
    if not org.active:
        raise ImportRefused(f"organisation {org_code} is deactivated")
    if org.kind not in ALLOWED_KINDS[Scope.FLAGS_WRITE]:
        raise ImportRefused(f"organisations of kind {org.kind} do not report flags")
    return org


@contextmanager
def _long_lived_objects_frozen() -> Iterator[None]:
    """Keep the collector off the objects that existed before the import.

    Each batch allocates objects by the hundred thousand, which triggers full collections,
    and a full collection walks every object of the process (the app's, SQLAlchemy's):
    measured at over half of the import's time. Freezing exempts the pre-existing ones;
    the batch's own objects are still collected as usual, though less often: the default
    first-generation threshold of 700 runs a collection every few rows, and the older
    generations follow (measured: 6% of the import; under half of that at these settings).
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _batches(rows: Iterator[SourceRow]) -> Iterator[list[SourceRow]]:
    while batch := list(islice(rows, BATCH_SIZE)):
        yield batch


def _prepare(batch: list[SourceRow], actor: Actor, report: ImportReport) -> list[PreparedRow]:
    prepared: list[PreparedRow] = []
    for source in batch:
        result = prepare_row(source, actor)
        if isinstance(result, list):
            report.add_errors(result)
        else:
            prepared.append(result)
    report.rows += len(batch)
    return prepared


@dataclass(frozen=True)
class FileCheck:
    """What :func:`check_file` found: the report (``rows`` read, the first errors and
    their count) and the numbers of the rows with an error, every one of them."""

    report: ImportReport
    bad_rows: frozenset[int]

    @property
    def valid_rows(self) -> int:
        return self.report.rows - len(self.bad_rows)


def check_file(
    path: Path,
    org: Organisation,
    *,
    max_rows: int | None = None,
    max_unpacked_bytes: int | None = None,
) -> FileCheck:
    """Every row of ``path`` through the import's reader and row rules for ``org``, the
    way :func:`import_flags` checks them; nothing is read from or written to the database.

    Raises :class:`ImportFileError` for a file that cannot be read, and for one of more
    than ``max_rows`` data rows or, for XLSX, unpacking to more than ``max_unpacked_bytes``.
    Rows the import would skip (imported before, repeated,
    already flagged by the organisation) are only known when writing, so are valid here.
    """
    report = ImportReport()
    bad: set[int] = set()
    actor = import_actor(org, path)
    if max_unpacked_bytes is not None and path.suffix.lower() == ".xlsx":
        check_unpacked_size(path, max_unpacked_bytes)
    with open_rows(path) as rows:
        for source in rows:
            report.rows += 1
            if max_rows is not None and report.rows > max_rows:
                raise ImportFileError(f"more than {max_rows} data rows: split the file")
            result = prepare_row(source, actor)
            if isinstance(result, list):
                report.add_errors(result)
                bad.add(source.number)
    return FileCheck(report, frozenset(bad))


async def import_flags(
    db: Database,
    org_code: str,
    path: Path,
    *,
    ttl_days: float,
    actor: Actor | None = None,
    progress: Progress | None = None,
    leave_out: frozenset[int] = frozenset(),
    mirror: Refreshable | None = None,
    tune_gc: bool = True,
) -> ImportReport:
    """Import the flags in ``path`` (CSV or XLSX) for organisation ``org_code``.

    Rows already imported for the organisation, and repeats within the file, are skipped.
    The rules are the API's (the organisation's kind decides what is allowed); the change
    events name ``actor``, by default the organisation via ``cli:import``. ``progress``
    gets the number of rows read so far after each batch. Raises
    :class:`ImportFileError` for a file that cannot be read (nothing is written), and
    ``OrganisationNotFound`` / :class:`ImportRefused` for an organisation that cannot report.

    ``leave_out`` names rows (by their number in the file) not to import at all: the
    console's, found invalid by :func:`check_file` and left out by the user's choice; any
    other invalid row still refuses the whole file. ``mirror`` is refreshed after the
    commit (a server's own import); ``tune_gc`` is for a process of its own (the command
    line): a server keeps its collector settings and its own frozen objects.
    """
    report = ImportReport()
    tuned = _long_lived_objects_frozen() if tune_gc else nullcontext()
    # A bad header fails in open_rows, before any lock is taken.
    with open_rows(path) as all_rows, tuned:
        rows = (row for row in all_rows if row.number not in leave_out)
        async with unit_of_work(db, Actor.command_line("import"), mirror=mirror) as uow:
            session = uow.session
            if not db.is_sqlite:
                await session.execute(_CUSTOM_PLANS)
            org = await _reporting_org(session, org_code)
            org_actor = import_actor(org, path)
            writer = BatchWriter(session, uow.bulk(actor or org_actor), org, ttl_days=ttl_days)
            for batch in _batches(rows):
                prepared = _prepare(batch, org_actor, report)
                if not report.error_count:
                    written = await writer.write(prepared)
                    report.created += written.created
                    report.already_flagged += written.already_flagged
                    report.skipped += len(prepared) - written.created
                if progress is not None:
                    progress(report.rows)
            if report.error_count:
                await uow.rollback()
                report.created = report.skipped = report.already_flagged = 0
                return report
    report.committed = True
    return report
