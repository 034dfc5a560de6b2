"""Periodic reports (half-year and year, Vietnam time), computed from history only."""
