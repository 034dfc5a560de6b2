"""Content-Security-Policy for the HTML pages: their own inline blocks by hash, nothing else.

The API's answers carry ``frame-ancestors 'none'`` (app/request_context.py); a page that
sets its own policy keeps that directive and adds the ones a browser page needs.
"""

from __future__ import annotations

import base64
import hashlib
import re

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)
_ALWAYS = ("default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'")


def source_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def inline_hashes(html: str) -> dict[str, list[str]]:
    """The CSP hash of every attribute-less inline ``<script>`` and ``<style>`` in ``html``."""
    found: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in _INLINE.findall(html):
        found[tag].append(source_hash(body))
    return found


def policy_for(html: str, **directives: str) -> str:
    """A policy allowing ``html``'s inline blocks by hash, plus ``directives``.

    ``directives`` maps a directive (``script_src``) to its sources (``"'self'"``); the
    hashes of the page's inline blocks are appended to ``script-src`` / ``style-src``.
    """
    sources = {name.replace("_", "-"): value.split() for name, value in directives.items()}
    for tag, hashes in inline_hashes(html).items():
        allowed = sources.setdefault(f"{tag}-src", [])
        # A hash beside 'unsafe-inline' would switch it off (CSP Level 2).
        if hashes and "'unsafe-inline'" not in allowed:
            allowed.extend(hashes)
        if not allowed:
            del sources[f"{tag}-src"]
    parts = [*_ALWAYS[:1], *(f"{name} {' '.join(v)}" for name, v in sources.items())]
    return "; ".join([*parts, *_ALWAYS[1:]])
