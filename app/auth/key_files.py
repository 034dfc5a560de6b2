"""The key files behind ``REGISTRY_JWT_KEY_FILE``: reading, checking and writing PEM keys.

Split from app.auth.keys so the key logic there reads apart from the file handling: every
write is atomic (temp file, fsync, rename or link) and every read bounded and checked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

_CURVE_NAME = "secp256r1"
# A P-256 PEM is ~250 bytes; anything this large is not a key and is not worth parsing.
_MAX_KEY_FILE_BYTES = 64 * 1024

log = logging.getLogger("app.auth.keys")


class WeakKey(RuntimeError):
    """The configured key file is missing, unreadable or not an EC P-256 key."""


def require_p256(key: object, source: str) -> None:
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise WeakKey(f"{source}: {type(key).__name__} is not an EC key; ES256 needs EC P-256")
    if key.curve.name != _CURVE_NAME:
        raise WeakKey(f"{source}: EC curve {key.curve.name} is not P-256 (secp256r1)")


def private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def read_key_file(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise WeakKey(f"{path}: cannot read key file ({exc.strerror or exc})") from exc
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise WeakKey(f"{path}: larger than {_MAX_KEY_FILE_BYTES} bytes, not a PEM key")
    if not data.strip():
        raise WeakKey(f"{path}: key file is empty")
    return data


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        # cryptography signals "encrypted but no password given" with TypeError.
        raise WeakKey(f"{path}: private key is encrypted; store it unencrypted (0600)") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        if is_public_pem(data):
            raise WeakKey(f"{path}: holds a public key; a private EC P-256 key is needed") from exc
        raise WeakKey(f"{path}: not a PEM private key (expected PKCS8 EC P-256)") from exc
    require_p256(key, str(path))
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    if path.stat().st_mode & 0o077:
        log.warning("JWT signing key %s is readable by group/others; chmod 600 it", path)
    return key


def is_public_pem(data: bytes) -> bool:
    try:
        serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    data = read_key_file(path)
    key: object
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (TypeError, ValueError, UnsupportedAlgorithm) as exc:
            raise WeakKey(f"{path}: not an unencrypted PEM public or private key") from exc
    require_p256(key, str(path))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def load_previous_keys(key_file: Path) -> list[ec.EllipticCurvePublicKey]:
    prefix = f"{key_file.name}.previous-"
    # Plain prefix matching rather than glob: the key file name may contain glob metacharacters.
    names = sorted(
        entry.name
        for entry in os.scandir(key_file.parent)
        if entry.name.startswith(prefix) and entry.name.endswith(".pem")
    )
    return [load_public_key(key_file.parent / name) for name in names]


def write_atomic(path: Path, data: bytes, mode: int, *, clobber: bool) -> bool:
    """Write ``data`` to ``path`` via a fully written temp file; False if not clobbering and
    ``path`` already exists (someone else won the race)."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            # Explicit chmod: the result must not depend on the process umask.
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if clobber:
            os.replace(tmp_name, path)
        elif not publish_exclusive(tmp_name, path):
            return False
        fsync_dir(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def publish_exclusive(tmp_name: str, path: Path) -> bool:
    # link() fails if the target exists, so unlike check-then-replace it cannot overwrite a
    # key another process published a moment ago (after which that process signs with it).
    try:
        os.link(tmp_name, path)
    except FileExistsError:
        return False
    except OSError:
        # Filesystem without hard links: fall back to a narrower check-then-replace.
        if path.exists():
            return False
        os.replace(tmp_name, path)
    return True


def fsync_dir(directory: Path) -> None:
    # Makes the rename durable; not every platform/filesystem allows fsync on a directory.
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
