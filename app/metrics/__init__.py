"""Prometheus metrics: ``GET /metrics`` (README "Metrics")."""
