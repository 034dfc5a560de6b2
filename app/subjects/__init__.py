"""Subjects (identifiers), their derived risk, the lookup, history and the change feed."""
