"""docs/configuration.md is the one reference of the settings: its table names every field
of `Settings` by its environment variable, with the default the service really uses, and
names nothing else. Adding, renaming or re-defaulting a setting fails here until the page
says so too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from app.config import Settings

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
# A setting's row: | `NAME` | default | meaning |. Group rows (**Upstreams** ...) have no name.
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| ([^|]+?) \|")


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env file takes part


def documented() -> dict[str, str]:
    """Each documented variable and its default cell, as written."""
    rows: dict[str, str] = {}
    for line in REFERENCE.read_text().splitlines():
        if match := ROW.match(line):
            name, default = match.groups()
            assert name not in rows, f"{name} has two rows in {REFERENCE.name}"
            rows[name] = default.strip()
    return rows


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return (alias if isinstance(alias, str) else field).upper()


def rendered(value: Any) -> str:
    """A default as the table writes it: `value` in backticks, or the words unset/empty."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return "unset"
    if isinstance(value, str | list | dict) and not value:
        return "empty"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, list):
        text = ",".join(str(item) for item in value)
    elif isinstance(value, dict):
        text = ",".join(f"{key}={item}" for key, item in value.items())
    else:
        text = str(value)
    return f"`{text}`"


def test_the_table_names_every_setting_and_nothing_else() -> None:
    in_code = {env_name(field) for field in Settings.model_fields}
    in_docs = set(documented())

    assert sorted(in_code - in_docs) == [], f"settings missing from {REFERENCE.name}"
    assert sorted(in_docs - in_code) == [], f"{REFERENCE.name} names settings that do not exist"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_the_documented_default_is_the_one_the_service_uses(
    field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = env_name(field)
    cell = documented().get(name)
    default = Settings.model_fields[field].get_default(call_default_factory=True)

    assert cell == rendered(default), f"{name}: documented {cell}, really {rendered(default)}"

    # An operator who writes the documented default into the environment changes nothing.
    for other in documented():
        monkeypatch.delenv(other, raising=False)
    untouched = getattr(Settings(), field)
    if cell != "unset":
        monkeypatch.setenv(name, "" if cell == "empty" else cell.strip("`"))
    assert getattr(Settings(), field) == untouched
