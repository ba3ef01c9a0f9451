"""Settings: every knob the service has, read from the environment (and a `.env` file)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./packages.db"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: SecretStr = Field(
        default=SecretStr(DEFAULT_DATABASE_URL),
        description="SQLAlchemy async URL; SQLite (aiosqlite) or PostgreSQL (asyncpg).",
    )
    # The pool only applies to PostgreSQL; SQLite uses one file and a busy timeout instead.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    public_base_url: str | None = Field(
        default=None,
        description="Scheme, host and optional path prefix used in hyperlinks, "
        "e.g. https://packages.example.org. Unset: taken from each request.",
    )
    trusted_proxies: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated IPs or CIDRs whose X-Forwarded-Proto/-Host are believed.",
    )

    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Comma-separated host names this service answers to (`.example.org` "
        "includes subdomains, `*` any); other Host headers get 400.",
    )

    page_size: int = Field(default=20, ge=1, description="Default `limit` of list pages.")
    max_page_size: int = Field(default=100, ge=1, description="Largest `limit` honoured.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Larger bodies get 413.")

    migrate_on_start: bool = Field(default=True, description="`serve` migrates before serving.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: str = "info"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        # The environment gives "10.0.0.0/8, 127.0.0.1"; an address is its own /32 (or /128).
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            parts = (str(part).strip() for part in value)
            return [ipaddress.ip_network(part, strict=False) for part in parts if part]
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("PUBLIC_BASE_URL must start with http:// or https://")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get_secret_value().startswith("sqlite")

    # --- Operations (app/observability): logs, metrics, probes, proxy, shutdown ---
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="Log lines as JSON objects, readable text, or auto: text on a terminal, "
        "JSON otherwise.",
    )
    root_path: str = Field(
        default="",
        description="Path prefix the service is published under by a proxy, e.g. /packages; "
        "hyperlinks and the docs include it.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins browsers may call the API from (`*` any); "
        "empty: CORS off.",
    )
    shutdown_timeout: int = Field(
        default=30, ge=1, description="Seconds in-flight requests get to finish on SIGTERM."
    )
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus figures at /metrics.")
    readiness_timeout: float = Field(
        default=2.0, gt=0, description="Seconds /readyz waits for the database."
    )

    @field_validator("root_path")
    @classmethod
    def _normalize_root_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith("/"):
            raise ValueError("ROOT_PATH must start with / (e.g. /packages)")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
