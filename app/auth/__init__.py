"""Authentication: ES256 JWT signing keys, token issue/verification and caching."""
