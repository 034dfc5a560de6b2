"""The staff console (SPEC §12): server-rendered pages at ``/console``."""
