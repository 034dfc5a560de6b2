"""Warnings issued by lookups, what the customer did next, and lookup counts."""
