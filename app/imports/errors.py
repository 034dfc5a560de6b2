"""The import's own errors, apart from the readers so that loading them costs nothing.

The server never imports the import machinery (openpyxl); the problem pages load this
module to document ``import-refused`` (app/apidocs/catalogue.py).
"""

from __future__ import annotations

from app.errors import Conflict, InvalidInput


class ImportFileError(InvalidInput):
    """The file as a whole cannot be imported (type, encoding, header, structure)."""

    title = "The import file cannot be read"


class ImportRefused(Conflict):
    type_slug = "import-refused"
    title = "The organisation cannot import flags"
    description = (
        "A flag import (registry import) was refused as a whole: the organisation is "
        "deactivated, or is of a kind that does not report flags. Nothing was written."
    )
    remedy = "Import under an active organisation of a kind that reports flags, such as police."
