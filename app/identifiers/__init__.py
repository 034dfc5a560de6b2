"""Canonical forms of the things the registry records: bank accounts, e-wallets, phones.

``normalise`` turns user-entered identifiers into canonical subjects and keys; ``vietqr``
decodes VietQR payloads into the bank BIN and account they point at.
"""
