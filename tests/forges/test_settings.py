"""Upstream settings as an operator writes them: environment variables, validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env file takes part


def test_the_defaults_are_the_public_forges() -> None:
    settings = Settings()

    assert settings.github_api_url == "https://api.github.com"
    assert settings.github_graphql_url == "https://api.github.com/graphql"
    assert settings.forgejo_instances == {"codeberg.org": "https://codeberg.org/api/v1"}
    assert settings.gitlab_instances == {"gitlab.com": "https://gitlab.com"}
    assert settings.gitlab_tokens == {}
    assert settings.forge_hosts == {
        "github.com": "github",
        "gitlab.com": "gitlab",
        "bitbucket.org": "bitbucket",
        "codeberg.org": "forgejo",
    }


def test_forgejo_instances_and_tokens_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "FORGEJO_INSTANCES",
        "Codeberg.org=https://codeberg.org/api/v1/, git.example.net=http://git.example.net:3000/api/v1",
    )
    monkeypatch.setenv("FORGEJO_TOKENS", "git.example.net=s3cr3t-forgejo")
    monkeypatch.setenv("GITHUB_TOKEN", "s3cr3t-github")
    monkeypatch.setenv("GITLAB_URL", "https://git.example.org/")

    settings = Settings()

    assert settings.forgejo_instances == {
        "codeberg.org": "https://codeberg.org/api/v1",
        "git.example.net": "http://git.example.net:3000/api/v1",
    }
    assert settings.forgejo_tokens["git.example.net"].get_secret_value() == "s3cr3t-forgejo"
    assert settings.gitlab_instances == {"git.example.org": "https://git.example.org"}
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "s3cr3t" not in shown


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GITHUB_API_URL", "api.github.com", r"not an http\(s\) URL"),
        ("PYPI_URL", "ftp://pypi.org", r"not an http\(s\) URL"),
        ("GITHUB_HOST", "github.com/enterprise", "not a host name"),
        ("FORGEJO_INSTANCES", "codeberg.org", "host=value pairs"),
        ("FORGEJO_INSTANCES", "codeberg.org=codeberg", r"not an http\(s\) URL"),
        ("UPSTREAM_MAX_IN_FLIGHT", "0", "greater than or equal to 1"),
        ("UPSTREAM_TIMEOUT", "-1", "greater than 0"),
        ("GITHUB_BATCH_SIZE", "101", "less than or equal to 100"),
        ("BITBUCKET_HOST", "github.com", "configured for both"),
        ("FORGEJO_TOKENS", "elsewhere.org=token", "not in FORGEJO_INSTANCES"),
    ],
)
def test_a_bad_upstream_setting_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=message):
        Settings()


def test_a_malformed_token_setting_never_echoes_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORGEJO_TOKENS", "s3cr3t-without-a-host")

    with pytest.raises(ValidationError, match="host=token pairs") as caught:
        Settings()
    assert "s3cr3t" not in str(caught.value)
