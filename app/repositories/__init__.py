"""Repositories: the only place with queries. They flush, never commit."""
