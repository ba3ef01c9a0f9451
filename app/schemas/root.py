"""The API root: where each collection lives."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.schemas.examples import API_ROOT, examples


class ApiRoot(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples(API_ROOT))
    categories: str
    grids: str
    packages: str
