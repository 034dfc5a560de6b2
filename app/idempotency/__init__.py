"""Idempotent creates: a retried request with the same key gets the same response."""
