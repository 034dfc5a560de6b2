"""The in-process mirror of what the hot path needs, kept in step with the change feed."""
