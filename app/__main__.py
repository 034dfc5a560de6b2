"""``python -m app`` is the ``registry`` command."""

from app.cli import main

main()
