"""Hold requests between institutions (SPEC §10): stop the money first, sort out the case
after."""
