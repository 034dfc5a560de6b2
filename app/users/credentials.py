"""Passwords (argon2id, ``argon2-cffi``) and TOTP codes (RFC 6238, ``pyotp``)."""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's second recommended (low-memory) profile.
_HASHER = PasswordHasher()
# Checked against when the username is unknown, so timing does not tell which names exist.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
ISSUER = "Registry"
TOTP_WINDOW = 1  # one 30 s step either side, for clocks a little apart


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` may not be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password may have at most {MAX_PASSWORD_LENGTH} characters"
    if username.lower() in password.lower():
        return "the password must not contain the username"
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def totp_qr_svg(secret: str, username: str) -> str:
    """The enrolment QR code as inline SVG, drawn here (no image service, no script)."""
    qr = segno.make(totp_uri(secret, username), error="m")
    svg: str = qr.svg_inline(scale=5, dark="#000", light="#fff", title="TOTP")
    return svg


def accepted_step(secret: str, code: str, last_step: int | None, at: float | None = None) -> int:
    """The time step ``code`` is valid for, or -1; a step at or before ``last_step`` (a
    code already used) is never accepted again."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return -1
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    step_now = int(now // totp.interval)
    for step in range(step_now - TOTP_WINDOW, step_now + TOTP_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return -1


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def credential_digest(password_hash: str | None, totp_secret: str) -> str:
    """What a change event records of a user's credentials: a digest, never the secrets,
    so a password hash or TOTP secret swapped in by hand no longer matches the chain."""
    material = f"{password_hash or ''}\n{totp_secret}".encode()
    return hashlib.sha256(material).hexdigest()
