"""The image and compose files, checked without a container engine.

Building the image and starting the stack is `scripts/image-smoke`'s work (podman, run by
`.ci/run`); here is what needs no engine: the image's HEALTHCHECK command against a real
`packages-api serve`, its command, its lint (hadolint), what buildah requires of it, what
its build context leaves out, and the compose file's wiring against the settings the service
reads.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from app.config import Settings
from tests.test_cli import serving

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def _instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines = [
        line
        for line in DOCKERFILE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        keyword, _, arguments = line.strip().partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in _instructions():
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _runtime() -> list[Instruction]:
    return _stages()[-1]


def _one(stage: list[Instruction], keyword: str) -> str:
    values = [i.arguments for i in stage if i.keyword == keyword]
    assert len(values) == 1, f"{keyword}: {values}"
    return values[0]


def _exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(part, str) for part in value)
    return value


def _env(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_both_stages_run_the_same_python_the_project_requires() -> None:
    arg = next(i.arguments for i in _instructions() if i.keyword == "ARG")
    name, _, image = arg.partition("=")
    assert name == "PYTHON_IMAGE"
    match = re.fullmatch(r"python:(\d+\.\d+)-slim(-\w+)?", image)
    assert match, image
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert match.group(1) in SpecifierSet(requires)
    froms = [stage[0].arguments for stage in _stages()]
    # The virtualenv built in one stage points at the interpreter of the same image.
    assert "${PYTHON_IMAGE} AS build" in froms
    assert froms[-1] == "${PYTHON_IMAGE}"


def test_dependencies_come_from_the_lock_in_their_own_cached_layer_without_dev_tools() -> None:
    build = next(stage for stage in _stages() if stage[0].arguments.endswith("AS build"))
    runs = [f"{i.keyword} {i.arguments}" for i in build if i.keyword in {"RUN", "COPY"}]
    first_sync = next(n for n, run in enumerate(runs) if "uv sync" in run)
    copy_all = runs.index("COPY . /app")
    # Dependencies before the sources: a code change does not reinstall them.
    assert first_sync < copy_all
    assert "--mount=type=bind,source=uv.lock" in runs[first_sync]
    assert "--mount=type=cache,target=/root/.cache/uv" in runs[first_sync]
    syncs = [run for run in runs if "uv sync" in run]
    assert all("--locked" in sync and "--no-dev" in sync for sync in syncs)
    assert "--no-install-project" in syncs[0]
    assert _env(build)["UV_COMPILE_BYTECODE"] == "1"
    assert any("compileall" in run for run in runs)
    runtime = " ".join(i.arguments for i in _runtime())
    for tool in ("uv ", "/bin/uv", "apt-get", "curl", "pip install"):
        assert tool not in runtime, tool


def _mounts(instruction: Instruction) -> list[dict[str, str]]:
    """The `--mount=` options of a RUN, as key/value pairs."""
    return [
        dict(pair.partition("=")[::2] for pair in option.split(","))
        for option in re.findall(r"--mount=(\S+)", instruction.arguments)
    ]


def test_bind_mounts_have_the_absolute_targets_buildah_requires() -> None:
    # BuildKit resolves a relative target against WORKDIR; buildah (podman build) refuses it.
    binds = [
        mount
        for instruction in _instructions()
        if instruction.keyword == "RUN"
        for mount in _mounts(instruction)
        if mount["type"] == "bind"
    ]
    assert {mount["source"] for mount in binds} == {"uv.lock", "pyproject.toml"}
    for mount in binds:
        assert mount["target"] == f"/app/{mount['source']}", mount


def test_a_build_host_ca_bundle_reaches_the_uv_steps_only_as_an_optional_secret() -> None:
    build = next(stage for stage in _stages() if stage[0].arguments.endswith("AS build"))
    bundle = _env(build)["SSL_CERT_FILE"]
    syncs = [i for i in build if i.keyword == "RUN" and "uv sync" in i.arguments]
    assert len(syncs) == 2
    for sync in syncs:
        [secret] = [mount for mount in _mounts(sync) if mount["type"] == "secret"]
        # Mounted over the image's own bundle, which stays in use when no secret is given.
        assert secret["target"] == bundle
        assert secret.get("required", "false") == "false"
    # Nothing of the build host's trust reaches the runtime stage.
    runtime = _runtime()
    assert "SSL_CERT_FILE" not in _env(runtime)
    assert not any(_mounts(i) for i in runtime if i.keyword == "RUN")


def test_the_service_runs_as_a_numeric_user_that_is_not_root() -> None:
    user = _one(_runtime(), "USER")
    assert re.fullmatch(r"\d+(:\d+)?", user), user
    assert all(int(part) != 0 for part in user.split(":"))


def test_the_container_migrates_then_serves_and_stops_on_sigterm() -> None:
    runtime = _runtime()
    assert _exec_form(_one(runtime, "CMD")) == ["packages-api", "serve"]
    # `serve` migrates first unless MIGRATE_ON_START says otherwise; the image keeps the default.
    assert "MIGRATE_ON_START" not in _env(runtime)
    assert Settings.model_fields["migrate_on_start"].default is True
    assert _one(runtime, "STOPSIGNAL") == "SIGTERM"
    env = _env(runtime)
    # Inside a container the service must listen beyond its own loopback.
    assert env["HOST"] == "0.0.0.0"  # noqa: S104
    assert _one(runtime, "EXPOSE") == env["PORT"]
    for secret in ("PASSWORD", "TOKEN", "SECRET"):
        assert not any(secret in name for name in env), env


def _healthcheck() -> list[str]:
    arguments = _one(_runtime(), "HEALTHCHECK")
    assert "--interval=" in arguments and "--timeout=" in arguments
    command = _exec_form(arguments.split(" CMD ", 1)[1])
    # In the image `python` is the virtualenv's; here, this interpreter stands in for it.
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


async def _run(command: list[str], **env: str) -> int:
    process = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), 30)


async def test_the_healthcheck_passes_while_serving_even_with_the_database_down(
    tmp_path: Path,
) -> None:
    command = _healthcheck()
    # The database is unreachable: liveness must not depend on it, or an outage would get
    # every healthy container restarted.
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:9/nowhere"
    async with serving(unreachable, tmp_path, "--no-migrate") as server:
        port = server.base_url.rsplit(":", 1)[1]
        assert await _run(command, PORT=port) == 0, server.output()
    # Nobody listening: unhealthy.
    assert await _run(command, PORT=port) != 0


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run(  # noqa: S603 (the linter from our own environment)
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, closely enough: a pattern excludes a path or any folder above it;
    a later `!pattern` brings it back."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        if any(
            fnmatch.fnmatchcase(prefix, candidate)
            or (candidate != pattern and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], candidate))
            for prefix in prefixes
            for candidate in candidates
        ):
            ignored = not negated
    return ignored


def test_the_build_context_has_the_service_and_no_secrets_databases_or_tests() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = [
        "pyproject.toml",
        "uv.lock",
        "README.md",
        "alembic.ini",
        "app/main.py",
        "app/demo/directory.json",  # `packages-api serve --demo` in the image
        "app/static/docs/redoc/redoc.standalone.js",
        "app/static/docs/swagger-ui/swagger-ui-bundle.js",
        "migrations/env.py",
    ]
    for path in needed:
        assert (ROOT / path).exists(), path
        assert not _ignored(path, patterns), path
    for path in (
        ".git/config",
        ".venv/bin/python",
        ".env",
        ".env.production",
        "packages.db",
        "packages.db-wal",
        "app/__pycache__/main.cpython-311.pyc",
        "tests/conftest.py",
        "bench/run.py",
        ".ci/run",
        "docs/index.md",
        "mkdocs.yml",
        "site/index.html",
    ):
        assert _ignored(path, patterns), path


def _compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_runs_the_service_on_postgresql_16_with_a_named_volume() -> None:
    compose = _compose()
    db, api = compose["services"]["db"], compose["services"]["api"]
    assert db["image"] == "postgres:16"
    volume, _, target = db["volumes"][0].partition(":")
    assert volume in compose["volumes"]
    assert target == "/var/lib/postgresql/data"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert api["build"] == "."
    assert api["restart"] and db["restart"]
    assert any(str(port).endswith(":8000") for port in api["ports"])


def test_compose_configures_the_service_with_settings_it_reads() -> None:
    compose = _compose()
    db, api = compose["services"]["db"], compose["services"]["api"]
    env = api["environment"]
    known = {name.upper() for name in Settings.model_fields}
    assert set(env) <= known, set(env) - known
    # The same values pydantic-settings would read from the environment.
    settings = Settings(**{name.lower(): value for name, value in env.items()})
    url = settings.database_url.get_secret_value()
    credentials = db["environment"]
    assert url == (
        f"postgresql+asyncpg://{credentials['POSTGRES_USER']}:{credentials['POSTGRES_PASSWORD']}"
        f"@db:5432/{credentials['POSTGRES_DB']}"
    )
    # How to migrate as a separate job is written down where it is needed.
    text = (ROOT / "compose.yaml").read_text()
    assert "MIGRATE_ON_START" in text and "packages-api migrate" in text


class _ComposeLoader(yaml.SafeLoader):
    """YAML with the compose specification's merge tags (`!override`, `!reset`)."""


def _tagged(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        value = loader.construct_scalar(node)
    return {node.tag: value}


_ComposeLoader.add_constructor("!override", _tagged)
_ComposeLoader.add_constructor("!reset", _tagged)


def test_the_image_smoke_runs_compose_yaml_changing_only_images_and_the_host_port() -> None:
    # scripts/image-smoke puts this file on top of compose.yaml: what it proves about
    # compose.yaml holds only if the override leaves everything else as written.
    text = (ROOT / "scripts/image-smoke.d/compose.override.yaml").read_text()
    override = yaml.load(text, _ComposeLoader)  # noqa: S506 (SafeLoader plus two tags)
    assert set(override) == {"services"}
    services = override["services"]
    assert services["db"] == {"image": "${SMOKE_POSTGRES_IMAGE}"}
    assert set(services["api"]) == {"image", "ports"}
    assert services["api"]["image"] == "${SMOKE_API_IMAGE}"
    [port] = services["api"]["ports"]["!override"]
    # The container port stays compose.yaml's; only the host port is left to the engine.
    [original] = _compose()["services"]["api"]["ports"]
    assert port.rsplit(":", 1)[1] == original.rsplit(":", 1)[1]
    assert port.split(":")[0] == original.split(":")[0] == "127.0.0.1"


def test_the_wheel_carries_the_docs_assets(tmp_path: Path) -> None:
    # `uv run` names itself in UV, also when it was run as `python -m uv`.
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        message = "uv is not on PATH (nor in UV), so the wheel cannot be built"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    result = subprocess.run(  # noqa: S603 (uv, building our own project)
        [uv, "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in (
        "app/static/docs/swagger-ui/swagger-ui-bundle.js",
        "app/static/docs/swagger-ui/swagger-ui.css",
        "app/static/docs/swagger-init.js",
        "app/static/docs/redoc/redoc.standalone.js",
        "app/static/docs/redoc/LICENSE",
    ):
        assert asset in names, asset
