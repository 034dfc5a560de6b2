"""The OAuth 2.0 client-credentials token endpoint and the JWKS."""
