"""Database engines, sessions, column types and the declarative base."""
