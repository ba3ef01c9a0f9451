"""Any number of GitLab instances, as an operator writes them: GITLAB_INSTANCES and
GITLAB_TOKENS, with GITLAB_URL and GITLAB_TOKEN as the one-instance shorthand."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.config import Settings

COMPANY = "git.example.org=https://git.example.org"


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env file takes part
    for name in ("GITLAB_INSTANCES", "GITLAB_TOKENS", "GITLAB_URL", "GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def tokens(settings: Settings) -> dict[str, str]:
    return {host: token.get_secret_value() for host, token in settings.gitlab_tokens.items()}


def test_instances_and_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "GITLAB_INSTANCES",
        f"GitLab.com=https://gitlab.com/, {COMPANY}, lab.local:8443=http://10.0.0.7:8080/gitlab/",
    )
    monkeypatch.setenv("GITLAB_TOKENS", "gitlab.com=glpat-public, git.example.org=glpat-company")

    settings = Settings()

    assert settings.gitlab_instances == {
        "gitlab.com": "https://gitlab.com",
        "git.example.org": "https://git.example.org",
        "lab.local:8443": "http://10.0.0.7:8080/gitlab",
    }
    assert tokens(settings) == {"gitlab.com": "glpat-public", "git.example.org": "glpat-company"}
    assert settings.forge_hosts == {
        "github.com": "github",
        "bitbucket.org": "bitbucket",
        "gitlab.com": "gitlab",
        "git.example.org": "gitlab",
        "lab.local:8443": "gitlab",
        "codeberg.org": "forgejo",
    }
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "glpat" not in shown


def test_gitlab_com_can_be_served_by_a_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_INSTANCES", "gitlab.com=https://gitlab-mirror.example.net")

    settings = Settings()

    # The packages' host stays gitlab.com; the requests go to the mirror.
    assert settings.gitlab_instances == {"gitlab.com": "https://gitlab-mirror.example.net"}
    assert settings.forge_hosts["gitlab.com"] == "gitlab"
    assert "gitlab-mirror.example.net" not in settings.forge_hosts


@pytest.mark.parametrize(
    ("environment", "instances", "token_of"),
    [
        # The shorthand alone: one instance, in place of gitlab.com, as before.
        (
            {"GITLAB_URL": "https://git.example.org/", "GITLAB_TOKEN": "t"},
            {"git.example.org": "https://git.example.org"},
            {"git.example.org": "t"},
        ),
        # A token for the default instance.
        ({"GITLAB_TOKEN": "t"}, {"gitlab.com": "https://gitlab.com"}, {"gitlab.com": "t"}),
        # GITLAB_URL naming one of the instances says whose token GITLAB_TOKEN is.
        (
            {
                "GITLAB_INSTANCES": f"gitlab.com=https://gitlab.com,{COMPANY}",
                "GITLAB_URL": "https://git.example.org",
                "GITLAB_TOKEN": "t",
                "GITLAB_TOKENS": "gitlab.com=u",
            },
            {"gitlab.com": "https://gitlab.com", "git.example.org": "https://git.example.org"},
            {"gitlab.com": "u", "git.example.org": "t"},
        ),
        # ... a mirror included: GITLAB_URL is an instance's URL, whatever host it serves.
        (
            {
                "GITLAB_INSTANCES": f"gitlab.com=https://mirror.example.net,{COMPANY}",
                "GITLAB_URL": "https://mirror.example.net",
                "GITLAB_TOKEN": "t",
            },
            {
                "gitlab.com": "https://mirror.example.net",
                "git.example.org": "https://git.example.org",
            },
            {"gitlab.com": "t"},
        ),
        # One instance in GITLAB_INSTANCES: GITLAB_TOKEN is its token.
        (
            {"GITLAB_INSTANCES": COMPANY, "GITLAB_TOKEN": "t"},
            {"git.example.org": "https://git.example.org"},
            {"git.example.org": "t"},
        ),
        # Both spellings giving the same token agree.
        (
            {
                "GITLAB_URL": "https://git.example.org",
                "GITLAB_TOKEN": "t",
                "GITLAB_TOKENS": "git.example.org=t",
            },
            {"git.example.org": "https://git.example.org"},
            {"git.example.org": "t"},
        ),
        # The same URL, spelled in other case and with a slash.
        (
            {
                "GITLAB_INSTANCES": COMPANY,
                "GITLAB_URL": "https://Git.Example.org/",
                "GITLAB_TOKEN": "t",
            },
            {"git.example.org": "https://git.example.org"},
            {"git.example.org": "t"},
        ),
        # Empty values are unset (a compose file's `GITLAB_URL: ${GITLAB_URL:-}`).
        ({"GITLAB_URL": "", "GITLAB_TOKEN": ""}, {"gitlab.com": "https://gitlab.com"}, {}),
    ],
)
def test_the_shorthand_is_folded_into_the_instances(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    instances: dict[str, str],
    token_of: dict[str, str],
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.gitlab_instances == instances
    assert tokens(settings) == token_of


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"GITLAB_INSTANCES": COMPANY, "GITLAB_URL": "https://gitlab.com"},
            "GITLAB_URL https://gitlab.com is none of the GITLAB_INSTANCES URLs",
        ),
        (
            {
                "GITLAB_INSTANCES": f"gitlab.com=https://gitlab.com,{COMPANY}",
                "GITLAB_TOKEN": "s3cr3t",
            },
            "GITLAB_TOKEN is one instance's token, and GITLAB_INSTANCES lists several",
        ),
        (
            {"GITLAB_TOKEN": "s3cr3t-a", "GITLAB_TOKENS": "gitlab.com=s3cr3t-b"},
            "GITLAB_TOKEN and GITLAB_TOKENS give gitlab.com two different tokens",
        ),
        (
            {"GITLAB_INSTANCES": "gitlab.com=https://a.example,GitLab.com=https://b.example"},
            "GITLAB_INSTANCES gives gitlab.com two URLs",
        ),
        (
            {"GITLAB_TOKENS": "git.example.org=s3cr3t"},
            "GITLAB_TOKENS names hosts not in GITLAB_INSTANCES",
        ),
        (
            {"GITLAB_TOKENS": "s3cr3t-without-a-host"},
            "GITLAB_TOKENS must be comma-separated host=token pairs",
        ),
        (
            {"GITLAB_INSTANCES": "gitlab.com"},
            "GITLAB_INSTANCES must be comma-separated host=value pairs",
        ),
        ({"GITLAB_INSTANCES": "gitlab.com=gitlab.com"}, r"not an http\(s\) URL"),
        ({"GITLAB_INSTANCES": "https://gitlab.com=https://gitlab.com"}, "not a host name"),
        ({"GITLAB_URL": "gitlab.com"}, r"not an http\(s\) URL"),
        # One host, one forge: every GitLab instance's host counts.
        (
            {"GITLAB_INSTANCES": "gitlab.com=https://gitlab.com,codeberg.org=https://x.example"},
            "'codeberg.org' is configured for both gitlab and forgejo",
        ),
        (
            {"GITLAB_INSTANCES": COMPANY, "GITHUB_HOST": "git.example.org"},
            "'git.example.org' is configured for both github and gitlab",
        ),
        (
            {"GITLAB_URL": "https://bitbucket.org"},
            "'bitbucket.org' is configured for both bitbucket and gitlab",
        ),
    ],
)
def test_contradictory_gitlab_settings_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=message) as refused:
        Settings()

    assert "s3cr3t" not in str(refused.value)


_OTHER_FORGES = {"github.com", "bitbucket.org", "codeberg.org"}
_HOST = st.from_regex(
    r"[a-z]([a-z0-9-]{0,7}[a-z0-9])?\.(org|com|net)(:[1-9][0-9]{0,3})?", fullmatch=True
).filter(lambda host: host not in _OTHER_FORGES)
_URL = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}{path}",
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z0-9]{1,8}\.example(:[1-9][0-9]{0,3})?", fullmatch=True),
    st.sampled_from(["", "/", "/gitlab", "/gitlab/"]),
)


@given(st.dictionaries(_HOST, _URL, min_size=1, max_size=5), st.data())
def test_every_instance_is_a_gitlab_host(instances: dict[str, str], data: st.DataObject) -> None:
    given_tokens = data.draw(
        st.dictionaries(
            st.sampled_from(sorted(instances)),
            st.from_regex(r"glpat-[A-Za-z0-9_-]{1,20}", fullmatch=True),
        )
    )
    settings = Settings(
        _env_file=None,
        gitlab_instances=",".join(f"{host}={url}" for host, url in instances.items()),
        gitlab_tokens=",".join(f"{host}={token}" for host, token in given_tokens.items()),
        forgejo_instances="codeberg.org=https://codeberg.org/api/v1",
    )

    assert settings.gitlab_instances == {host: url.rstrip("/") for host, url in instances.items()}
    assert tokens(settings) == given_tokens
    assert {host for host, kind in settings.forge_hosts.items() if kind == "gitlab"} == set(
        instances
    )
