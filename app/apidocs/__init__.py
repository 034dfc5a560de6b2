"""The service's own documentation: Swagger UI, ReDoc and the problem-type pages, offline."""
