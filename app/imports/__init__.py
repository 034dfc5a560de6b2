"""Bulk import of flags from CSV or XLSX files (SPEC §7, ``registry import FILE --org C``).

``reader`` streams rows out of the file, ``rows`` validates and fingerprints one row with the
API's own rules, ``writer`` writes a batch of valid rows, ``service`` ties them together in
one all-or-nothing write transaction.
"""
