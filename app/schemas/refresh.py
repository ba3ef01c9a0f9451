"""Answers of the refresh triggers: POST .../refresh/ and the GitHub webhook."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class RefreshAccepted(BaseModel):
    status: Literal["started", "already_running"] = Field(
        description="`started`: refreshing now, in the background; `already_running`: a "
        "refresh of it is in progress (here or on another replica), this one joins it."
    )
    package: str = Field(description="The package's slug.", examples=["django-shop"])
    detail: str


class WebhookAnswer(BaseModel):
    status: Literal["pong", "started", "already_running", "ignored"] = Field(
        description="`pong` for GitHub's ping; `ignored` for events and repositories that "
        "concern no package here (with the reason in `detail`)."
    )
    package: str | None = Field(default=None, description="The refreshed package's slug.")
    detail: str
