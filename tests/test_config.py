"""Settings as an operator writes them: environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env file takes part


def test_trusted_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1, ::1 ,")

    assert Settings().trusted_proxies == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    ]


def test_trusted_proxies_default_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "")

    assert Settings().trusted_proxies == []


def test_a_trusted_proxy_that_is_not_an_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8,gateway")

    with pytest.raises(
        ValidationError, match="'gateway' does not appear to be an IPv4 or IPv6 network"
    ):
        Settings()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:pw@db:5432/p", "postgresql+asyncpg://u:pw@db:5432/p"),
        ("postgresql://u:pw@db/p", "postgresql+asyncpg://u:pw@db/p"),
        ("postgresql+asyncpg://u@db/p", "postgresql+asyncpg://u@db/p"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite+aiosqlite:////data/p.db", "sqlite+aiosqlite:////data/p.db"),
    ],
)
def test_plain_database_urls_run_on_the_async_drivers(
    monkeypatch: pytest.MonkeyPatch, given: str, used: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert Settings().database_url.get_secret_value() == used


@pytest.mark.parametrize("given", ["mysql://u:secretpw@h/x", "postgresql+psycopg://u@h/x", "x"])
def test_a_database_url_we_cannot_run_on_is_refused_without_its_password(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    with pytest.raises(ValidationError, match="DATABASE_URL") as refused:
        Settings()
    assert "secretpw" not in str(refused.value)


def test_log_level_is_one_of_the_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert Settings().log_level == "warning"
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    with pytest.raises(ValidationError, match="log_level"):
        Settings()
