"""Every problem type the service can answer, read from the AppError classes themselves.

A class that declares a ``type_slug`` is that type's owner: its title, status, description
and remedy are the page. Subclasses that keep the slug (``FlagNotFound`` is a
``not-found``) only add the titles a client may see for it. Nothing is listed by hand, so
a new error class is documented the moment it exists (``AppError.__init_subclass__``
refuses one without a description and a remedy).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus

from app.errors import AppError

# Errors defined where the server never imports (the command line's import machinery,
# which loads openpyxl): loaded here for their pages. tests/foundation/test_problem_pages.py
# fails when an AppError lives in a module neither the server nor this list imports.
EXTRA_ERROR_MODULES = ("app.framework_errors", "app.imports.errors")


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int
    description: str
    remedy: str
    # Other titles the same type is answered with, by more specific error classes.
    variants: tuple[str, ...]

    @property
    def status_phrase(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"


def error_classes() -> Iterator[type[AppError]]:
    """AppError and every subclass loaded, depth first."""
    yield AppError
    stack = list(reversed(AppError.__subclasses__()))
    while stack:
        cls = stack.pop()
        yield cls
        stack.extend(reversed(cls.__subclasses__()))


def build_catalogue() -> dict[str, ProblemType]:
    """Slug -> problem type, for every error class loaded now."""
    owners: dict[str, type[AppError]] = {}
    titles: dict[str, list[str]] = {}
    for cls in error_classes():
        slug = cls.type_slug
        if cls is AppError or "type_slug" in cls.__dict__:
            if slug in owners:
                raise RuntimeError(f"{cls.__name__} and {owners[slug].__name__} share {slug}")
            owners[slug] = cls
        titles.setdefault(slug, [])
        if cls.title not in titles[slug]:
            titles[slug].append(cls.title)
    return {
        slug: ProblemType(
            slug=slug,
            title=owner.title,
            status=owner.status,
            description=owner.description,
            remedy=owner.remedy,
            variants=tuple(t for t in titles[slug] if t != owner.title),
        )
        for slug, owner in sorted(owners.items(), key=lambda item: (item[1].status, item[0]))
    }


@cache
def catalogue() -> dict[str, ProblemType]:
    """The catalogue of the running service (built once, after every error is loaded)."""
    for module in EXTRA_ERROR_MODULES:
        importlib.import_module(module)
    return build_catalogue()
