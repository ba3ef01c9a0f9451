"""The API root: where each collection lives."""

from __future__ import annotations

from pydantic import BaseModel


class ApiRoot(BaseModel):
    categories: str
    grids: str
    packages: str
