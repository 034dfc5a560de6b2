"""Administration over HTTP (SPEC §9): organisations and clients, for operators."""
