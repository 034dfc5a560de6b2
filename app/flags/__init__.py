"""Flags: one organisation's report about one subject, with its lifecycle (SPEC §4)."""
