"""Pydantic models that mirror the API's resources, one module per resource."""
