"""Settings: every knob the service has, read from the environment (and a `.env` file)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.hosts import check_host, host_of

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./packages.db"
# The schemes DATABASE_URL may use, and the async driver each one runs on.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
GITLAB_DEFAULT = {"gitlab.com": "https://gitlab.com"}


def _default_python_versions() -> list[str]:
    from app.insights.versions import DEFAULT_PYTHON_VERSIONS  # app.insights imports config

    return list(DEFAULT_PYTHON_VERSIONS)


class Settings(BaseSettings):
    # Errors never echo the input: it may be a token or a database password.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    database_url: SecretStr = Field(
        default=SecretStr(DEFAULT_DATABASE_URL),
        description="SQLAlchemy async URL; SQLite (aiosqlite) or PostgreSQL (asyncpg).",
    )
    # The pool only applies to PostgreSQL; SQLite uses one file and a busy timeout instead.
    db_pool_size: int = Field(default=10, ge=1)
    # 0: SQLAlchemy closes an overflow connection as soon as it is returned, so under
    # sustained load past the pool every few requests paid for a new connection (bench/api.py
    # counted 250 in 8 s); waiting a moment for a pooled one is cheaper.
    db_max_overflow: int = Field(default=0, ge=0)
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
    # Cursor pages (`?cursor=`): the key their tokens are signed with. Every replica and
    # worker must share it; unset, tokens are still checked (a fixed key), but not secret.
    cursor_secret: SecretStr | None = Field(
        default=None, description="Key that signs `?cursor=` tokens (secret); unset: a fixed key."
    )
    # Cache-Control of anonymous successful reads (app.conditional.CachePolicyMiddleware):
    # how long a shared cache (nginx, a CDN) may serve one, then serve it stale while it
    # revalidates with the ETag.
    http_cache_max_age: int = Field(
        default=10, ge=0, description="Seconds a shared cache may serve an anonymous read."
    )
    http_cache_stale_while_revalidate: int = Field(
        default=60,
        ge=0,
        description="Seconds past max-age a shared cache may serve it while revalidating.",
    )
    # The read cache of each worker (app.cache): anonymous reads answered from memory, each
    # forgotten the moment a write changes what it shows (docs/performance.md).
    cache_enabled: bool = Field(
        default=True, description="Keep rendered anonymous reads in each worker's memory."
    )
    cache_max_mb: int = Field(
        default=64, ge=1, description="Memory each worker's read cache may use, in MiB."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Larger bodies get 413.")
    max_query_bytes: int = Field(
        default=4096, ge=256, description="Longer query strings get 414 (app.request_limits)."
    )

    migrate_on_start: bool = Field(default=True, description="`serve` migrates before serving.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    # --- Upstreams: forges and PyPI (metrics refresher, issue #3) ---------------------
    # Each base URL is a setting, so tests and GitHub Enterprise/self-hosted forges point
    # elsewhere; a repository whose host is none of these is never contacted.
    github_api_url: str = Field(default="https://api.github.com", description="GitHub REST base.")
    github_graphql_url: str = Field(
        default="https://api.github.com/graphql", description="GitHub GraphQL endpoint."
    )
    github_host: str = Field(
        default="github.com", description="Host of the repo_url values the GitHub client serves."
    )
    github_token: SecretStr | None = Field(default=None, description="GitHub token (secret).")
    github_batch_size: int = Field(
        default=100, ge=1, le=100, description="Repositories asked for in one GraphQL query."
    )
    # GITLAB_URL and GITLAB_TOKEN are the one-instance shorthand, folded into these two by
    # _gitlab_shorthand; nothing else reads them.
    gitlab_instances: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(GITLAB_DEFAULT),
        description="Comma-separated `host=instance-URL` pairs of GitLab instances.",
    )
    gitlab_tokens: Annotated[dict[str, SecretStr], NoDecode] = Field(
        default_factory=dict, description="Comma-separated `host=token` pairs (secret)."
    )
    gitlab_url: str | None = Field(
        default=None, description="One GitLab instance: GITLAB_INSTANCES=<its host>=<it>."
    )
    gitlab_token: SecretStr | None = Field(
        default=None, description="Token of GITLAB_URL's instance, or of the only one (secret)."
    )
    forgejo_instances: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {"codeberg.org": "https://codeberg.org/api/v1"},
        description="Comma-separated `host=api-base` pairs of Forgejo/Gitea instances.",
    )
    forgejo_tokens: Annotated[dict[str, SecretStr], NoDecode] = Field(
        default_factory=dict, description="Comma-separated `host=token` pairs (secret)."
    )
    bitbucket_api_url: str = Field(
        default="https://api.bitbucket.org/2.0", description="Bitbucket Cloud API base."
    )
    bitbucket_host: str = Field(
        default="bitbucket.org", description="Host of the repo_url values Bitbucket serves."
    )
    bitbucket_token: SecretStr | None = Field(
        default=None, description="Bitbucket access token, sent as Bearer (secret)."
    )
    pypi_url: str = Field(default="https://pypi.org", description="PyPI (or a mirror) base URL.")
    upstream_timeout: float = Field(default=20.0, gt=0, le=300, description="Seconds per request.")
    upstream_max_in_flight: int = Field(
        default=8, ge=1, le=100, description="Concurrent requests to one upstream."
    )
    upstream_user_agent: str = Field(
        default="packages-api (metrics refresher)",
        min_length=1,
        description="User-Agent sent upstream (GitHub refuses requests without one).",
    )
    upstream_retry_attempts: int = Field(
        default=4, ge=1, le=10, description="Tries per request on transport errors and 5xx."
    )
    upstream_max_wait: float = Field(
        default=900.0,
        ge=0,
        le=86_400,
        description="Longest pause, in seconds, for a rate limit; longer fails that request.",
    )

    @field_validator("github_api_url", "github_graphql_url", "bitbucket_api_url", "pypi_url")
    @classmethod
    def _upstream_url(cls, value: str) -> str:
        return _check_base_url(value)

    @field_validator("github_host", "bitbucket_host")
    @classmethod
    def _upstream_host(cls, value: str) -> str:
        return check_host(value)

    @field_validator("forgejo_instances", "gitlab_instances", mode="before")
    @classmethod
    def _parse_instances(cls, value: object, info: ValidationInfo) -> object:
        return _instances(value, str(info.field_name).upper())

    @field_validator("forgejo_tokens", "gitlab_tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: object) -> object:
        return _tokens(value)

    @field_validator("forgejo_tokens", "gitlab_tokens")
    @classmethod
    def _check_tokens(
        cls, value: dict[str, SecretStr], info: ValidationInfo
    ) -> dict[str, SecretStr]:
        if "" in value:
            name = str(info.field_name).upper()
            raise ValueError(f"{name} must be comma-separated host=token pairs")
        return {check_host(host): token for host, token in value.items()}

    @model_validator(mode="before")
    @classmethod
    def _gitlab_shorthand(cls, data: Any) -> Any:
        """GITLAB_URL and GITLAB_TOKEN, the one-instance spelling, written into
        GITLAB_INSTANCES and GITLAB_TOKENS, so that everything after reads one form:

        - GITLAB_URL alone is GITLAB_INSTANCES=<its host>=<GITLAB_URL>;
        - beside GITLAB_INSTANCES, it must be the URL of one of them: it names the
          instance GITLAB_TOKEN is for;
        - GITLAB_TOKEN is the token of GITLAB_URL's instance, else of the only instance
          configured; with several and no GITLAB_URL it is refused, not guessed;
        - GITLAB_TOKENS may give that instance the same token, not another one.

        Empty values count as unset. Nothing here ever shows a token.
        """
        if not isinstance(data, dict):
            return data
        url = str(data.get("gitlab_url") or "").strip() or None
        token = data.get("gitlab_token")
        secret = token.get_secret_value() if isinstance(token, SecretStr) else str(token or "")
        if url is None and not secret.strip():
            return data
        if url is not None:
            url = _check_base_url(url)
        data = {**data, "gitlab_url": url}
        if "gitlab_instances" in data:
            instances = _instances(data["gitlab_instances"], "GITLAB_INSTANCES")
        elif url is not None:
            instances = {host_of(url): url}
        else:
            instances = dict(GITLAB_DEFAULT)
        if not isinstance(instances, dict):
            return data  # not pairs at all: the field's own validation says so
        data["gitlab_instances"] = instances
        hosts = [h for h, base in instances.items() if url is None or url.lower() == base.lower()]
        if not hosts:
            raise ValueError(
                f"GITLAB_URL {url} is none of the GITLAB_INSTANCES URLs: set one of the "
                "two, or GITLAB_URL to the instance GITLAB_TOKEN is for"
            )
        if not secret.strip():
            return data
        if len(hosts) > 1:
            raise ValueError(
                "GITLAB_TOKEN is one instance's token, and GITLAB_INSTANCES lists several: "
                "give each its token in GITLAB_TOKENS (or name its instance in GITLAB_URL)"
            )
        tokens = _tokens(data.get("gitlab_tokens", {}))
        if isinstance(tokens, dict):
            given = tokens.get(hosts[0])
            if given is not None and given.get_secret_value() != secret.strip():
                raise ValueError(
                    f"GITLAB_TOKEN and GITLAB_TOKENS give {hosts[0]} two different tokens"
                )
            data["gitlab_tokens"] = {**tokens, hosts[0]: SecretStr(secret.strip())}
        return data

    @model_validator(mode="after")
    def _distinct_forge_hosts(self) -> Settings:
        # One host, one forge: otherwise the host of a repo_url could not pick a client.
        seen: dict[str, str] = {}
        claims = [("github", self.github_host), ("bitbucket", self.bitbucket_host)]
        claims += [("gitlab", host) for host in self.gitlab_instances]
        claims += [("forgejo", host) for host in self.forgejo_instances]
        for kind, host in claims:
            if host in seen:
                raise ValueError(f"host {host!r} is configured for both {seen[host]} and {kind}")
            seen[host] = kind
        for tokens, instances, name in (
            (self.gitlab_tokens, self.gitlab_instances, "GITLAB"),
            (self.forgejo_tokens, self.forgejo_instances, "FORGEJO"),
        ):
            unknown = set(tokens) - set(instances)
            if unknown:
                raise ValueError(
                    f"{name}_TOKENS names hosts not in {name}_INSTANCES: {sorted(unknown)}"
                )
        return self

    @property
    def forge_hosts(self) -> dict[str, str]:
        """Each configured repo_url host and the forge kind that serves it."""
        hosts = {self.github_host: "github", self.bitbucket_host: "bitbucket"}
        hosts.update(dict.fromkeys(self.gitlab_instances, "gitlab"))
        hosts.update(dict.fromkeys(self.forgejo_instances, "forgejo"))
        return hosts

    # --- end of upstream settings ---------------------------------------------------

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

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("database_url", mode="before")
    @classmethod
    def _async_driver(cls, value: object) -> object:
        """The plain spellings operators paste (`postgres://`, `postgresql://`, `sqlite://`)
        get the async driver this service runs on; any other driver is refused here, in one
        line, rather than by a traceback when the engine is first made."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            return value
        scheme, sep, rest = raw.strip().partition("://")
        if not sep:
            raise ValueError("DATABASE_URL must look like sqlite+aiosqlite:///./packages.db")
        driver = _ASYNC_DRIVERS.get(scheme.lower())
        if driver is None:
            raise ValueError(
                f"DATABASE_URL scheme {scheme!r} is not supported: use sqlite+aiosqlite:// "
                "or postgresql+asyncpg:// (postgres://, postgresql:// and sqlite:// are "
                "read as those)"
            )
        return SecretStr(f"{driver}://{rest}")

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

    # --- Change feed (app/changes/, issue 19) ------------------------------------------
    changes_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days the change feed keeps its events; an older `after` answers 410.",
    )

    # --- Outgoing webhooks (app/webhooks/, issue 19) -------------------------------------
    webhooks_enabled: bool = Field(
        default=True, description="`serve` runs the webhook sender in each worker."
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Deliver webhooks to private, loopback and link-local addresses too.",
    )
    webhook_interval: float = Field(
        default=2.0, gt=0, le=3600, description="Seconds between the sender's passes."
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds one delivery attempt may take."
    )

    # --- Metrics refresher and its triggers (app/refresh/, issue #3) --------------------
    # On by default: a fresh clone keeps its metrics current with no extra step, and a
    # repository on a forge the settings cannot reach only records an error and backs off.
    refresh_enabled: bool = Field(
        default=True, description="`serve` runs the periodic refresher in each worker."
    )
    refresh_interval: float = Field(
        default=300.0, gt=0, description="Seconds between the end of one run and the next."
    )
    refresh_concurrency: int = Field(
        default=4, ge=1, le=64, description="Batches of packages fetched at once per process."
    )
    refresh_stale_hours: float = Field(
        default=24.0, gt=0, description="A package fetched longer ago than this is due."
    )
    refresh_batch_size: int = Field(
        default=50, ge=1, le=500, description="Packages claimed (and sent to a forge) at once."
    )
    # Longer than a batch can take, rate-limit pauses included (UPSTREAM_MAX_WAIT, 900 s):
    # a lease that ran out mid-fetch lets another replica fetch the package again (its
    # write is still refused, but the work is done twice).
    refresh_lease_seconds: int = Field(
        default=1800,
        ge=1,  # short leases are for tests; a lease shorter than a batch fetches twice
        description="How long a claim lasts; a replica that dies loses its packages after it.",
    )
    refresh_pending_wait: float = Field(
        default=120.0,
        ge=0,
        le=3600,
        description="Seconds `packages-api refresh` asks again, with backoff, for figures a "
        "forge is still computing before leaving them to the next run.",
    )
    github_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret of GitHub push webhooks (X-Hub-Signature-256); unset: no webhooks.",
    )
    # --- end of refresher settings --------------------------------------------------------

    # --- Compatibility and maintenance answers (app/insights/, docs/compatibility.md) -----
    python_versions: Annotated[list[str], NoDecode] = Field(
        default_factory=_default_python_versions,
        description="Python versions in support (comma-separated X.Y, among 2.7 and 3.0 to "
        "3.29), over which a Requires-Python is evaluated when a package has no X.Y "
        "classifiers.",
    )
    maintenance_active_months: int = Field(
        default=12,
        ge=1,
        description="Months since the last commit or release below which a package is `active`.",
    )
    maintenance_stale_months: int = Field(
        default=24, ge=1, description="Months below which it is `stale` (else `inactive`)."
    )

    @field_validator("python_versions", mode="before")
    @classmethod
    def _split_python_versions(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            # app.insights imports config
            from app.insights.stored import PYTHON_UNIVERSE
            from app.insights.versions import minor_versions

            versions = list(minor_versions(str(part) for part in value))
            # `?python=` reads versions stored over this universe (app.insights.stored).
            outside = [version for version in versions if version not in PYTHON_UNIVERSE]
            if outside:
                raise ValueError(
                    f"{', '.join(outside)}: PYTHON_VERSIONS may name 2.7 and 3.0 to 3.29 only"
                )
            return versions
        return value

    @model_validator(mode="after")
    def _maintenance_order(self) -> Settings:
        # The rule app.insights.maintenance.MaintenanceThresholds keeps, said at start-up.
        if not 0 < self.maintenance_active_months <= self.maintenance_stale_months:
            raise ValueError(
                "MAINTENANCE_ACTIVE_MONTHS must be above 0 and at most MAINTENANCE_STALE_MONTHS, "
                f"got {self.maintenance_active_months} and {self.maintenance_stale_months}"
            )
        return self

    # --- Database timeouts and write rate limits (issue 8) ---------------------------------
    # PostgreSQL only (SQLite has SQLITE_BUSY_TIMEOUT_MS): sent as session settings on each
    # new connection, so one slow query or a lock held elsewhere cannot keep a pooled
    # connection, and the request waiting on it, forever. A statement they cancel is a 503.
    db_statement_timeout_ms: int = Field(
        default=10_000, ge=0, description="Longest statement of a request or refresh; 0: none."
    )
    db_lock_timeout_ms: int = Field(
        default=3_000, ge=0, description="Longest wait for a row or table lock; 0: none."
    )
    db_idle_in_transaction_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        description="A session idle inside a transaction this long is ended; 0: never.",
    )
    db_connect_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to open a database connection."
    )
    db_job_statement_timeout_ms: int = Field(
        default=0,
        ge=0,
        description="Statement timeout of `import` and `export`, which may read for long "
        "(they set no lock or idle timeout either); 0: none.",
    )
    # Token buckets kept in each process's memory: with N workers or replicas a client may
    # write up to N times the rate. Unset: no limit.
    write_rate_limit_per_token: str | None = Field(
        default=None,
        description="Writes one token may make, e.g. `60/minute` (also second, hour).",
    )
    write_rate_limit_per_ip: str | None = Field(
        default=None,
        description="Writes one client address may make, e.g. `120/minute`.",
    )

    @field_validator("write_rate_limit_per_token", "write_rate_limit_per_ip")
    @classmethod
    def _check_rate(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_rate(value)  # raises ValueError naming the expected form
        return value.strip()

    # --- end of database timeouts and rate limits -----------------------------------------


def _check_base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not host_of(value):
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} must not have a query or fragment")
    return value


def _pairs(text: str, name: str) -> list[tuple[str, str]]:
    """`a=x, b=y` as pairs; a part without `=` is refused by name (values may be secret)."""
    pairs: list[tuple[str, str]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise ValueError(f"{name} must be comma-separated host=value pairs")
        pairs.append((key.strip(), val.strip()))
    return pairs


def _instances(value: object, name: str) -> object:
    """`host=URL` pairs (the environment's text, or a dict) as {host: URL}, each host as
    check_host and each URL as _check_base_url; a host given two URLs is refused."""
    if isinstance(value, str):
        value = _pairs(value, name)
    elif isinstance(value, dict):
        value = list(value.items())
    if not isinstance(value, list):
        return value
    instances: dict[str, str] = {}
    for key, url in value:
        host, base = check_host(str(key)), _check_base_url(str(url))
        if instances.setdefault(host, base) != base:
            raise ValueError(f"{name} gives {host} two URLs")
    return instances


def _tokens(value: object) -> object:
    """`host=token` pairs (the environment's text, or a dict) as {host: SecretStr}.

    Parsed leniently, and checked after wrapping in SecretStr: pydantic's error shows
    the input, which must never be a token in clear. A part that is not a pair is kept
    under the host "" for the check to refuse.
    """
    if isinstance(value, str):
        parts = (part.strip().partition("=") for part in value.split(",") if part.strip())
        return {
            (key.strip().lower() if sep and val.strip() else ""): SecretStr(val.strip())
            for key, sep, val in parts
        }
    if isinstance(value, dict):
        return {
            str(key).strip().lower(): token
            if isinstance(token, SecretStr)
            else SecretStr(str(token))
            for key, token in value.items()
        }
    return value


_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


def parse_rate(text: str) -> tuple[int, float]:
    """`60/minute` as (60, 60.0): so many requests per so many seconds."""
    count, sep, period = text.strip().lower().partition("/")
    seconds = _PERIODS.get(period.strip().removesuffix("s"))
    if not sep or seconds is None or not count.strip().isdigit() or int(count) < 1:
        raise ValueError("a rate must look like 60/minute (per second, minute or hour)")
    return int(count), seconds


@lru_cache
def get_settings() -> Settings:
    return Settings()
