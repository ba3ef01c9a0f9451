"""The OpenAPI document: what a client generator or a reader of /docs relies on."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from app.config import Settings
from app.errors import ErrorBody
from app.main import create_app
from app.routers import lookup
from app.schemas import category, examples, grid, package, root
from tests.factories import seed_records

RESOURCE_TAGS = ["packages", "categories", "grids", "grid table"]
WRITE_METHODS = {"post", "put", "patch", "delete"}
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Building the document touches no database.
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('openapi') / 'unused.db'}"
    return create_app(Settings(database_url=url)).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _api_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [op for op in _operations(document) if op[1].startswith("/api/v4/")]


def _models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in (package, category, grid, root, lookup):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                found[value.__name__] = value
    return found


def test_the_document_names_the_service_its_version_and_how_to_use_it(
    document: dict[str, Any],
) -> None:
    info = document["info"]
    assert info["title"] == "packages-api"
    assert info["version"] == version("packages-api")
    assert "bearer token" in info["description"]
    assert "ErrorBody" in info["description"]
    assert info["license"]["identifier"] == "MIT"


def test_every_resource_has_a_described_tag_and_every_api_operation_one_of_them(
    document: dict[str, Any],
) -> None:
    tags = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    for name in RESOURCE_TAGS:
        assert len(tags.get(name, "")) > 20, name
    for method, path, operation in _api_operations(document):
        assert len(operation["tags"]) == 1, (method, path)
        assert operation["tags"][0] in tags, (method, path)
    # The table's operations are found under their own tag, not lost among the grids'.
    table = [p for m, p, o in _api_operations(document) if o["tags"] == ["grid table"]]
    assert "/api/v4/grids/{key}/table/" in table
    assert "/api/v4/grids/{key}/features/" in table


def test_operation_ids_are_the_endpoint_names(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    assert "list_packages" in ids
    assert all(re.fullmatch(r"[a-z_]+", operation_id) for operation_id in ids)


def test_writes_declare_the_bearer_scheme_and_reads_declare_none(
    document: dict[str, Any],
) -> None:
    signature = document["components"]["securitySchemes"]["GitHubSignature"]
    assert signature == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature-256",
        "description": signature["description"],
    }
    scheme = document["components"]["securitySchemes"]["BearerToken"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert "packages-api tokens create" in scheme["description"]
    writes = 0
    for method, path, operation in _api_operations(document):
        # A lookup is a read sent as a POST (its body is too large for a query string).
        # Webhook subscriptions hold secrets and URLs: even reading them takes a token.
        admin_only = path.startswith("/api/v4/subscriptions/")
        if (method in WRITE_METHODS and path != "/api/v4/lookup/") or admin_only:
            writes += 1
            # The GitHub webhook proves itself by its body's HMAC; every other write by a token.
            expected = "GitHubSignature" if path == "/api/v4/webhooks/github/" else "BearerToken"
            assert operation.get("security") == [{expected: []}], (method, path)
            assert "401" in operation["responses"], (method, path)
        else:
            assert "security" not in operation, (method, path)
            assert "401" not in operation["responses"], (method, path)
    assert writes >= 15


async def test_the_document_is_true_about_which_operations_need_a_token(
    app_factory: Callable[[Settings], Awaitable[Any]], settings: Settings
) -> None:
    # With webhooks configured, so that the signed route refuses rather than being absent.
    configured = settings.model_copy(update={"github_webhook_secret": SecretStr("hook")})
    app = await app_factory(configured)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        document = (await client.get("/openapi.json")).json()
        for method, path, operation in _api_operations(document):
            url = re.sub(r"\{[^}]+\}", "1", path)
            response = await client.request(method, url, json={})
            if "GitHubSignature" in str(operation.get("security")):
                assert response.status_code == 401, (method, path)
                assert response.json()["code"] == "bad_signature"
                continue
            if "security" in operation:
                assert response.status_code == 401, (method, path)
                assert response.json()["code"] == "unauthorized"
            else:
                assert response.status_code != 401, (method, path)


def test_every_error_response_is_the_error_body_with_a_matching_example(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert "ErrorBody" in schemas and "FieldError" in schemas
    # FastAPI's own validation error shape is never what we answer.
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            media = response["content"]["application/json"]
            assert media["schema"] == {"$ref": ERROR_REF}, (method, path, status)
            example = ErrorBody.model_validate(media["example"])
            assert example.status == int(status), (method, path, status)


def test_422_is_documented_only_where_there_is_a_body_to_fail(
    document: dict[str, Any],
) -> None:
    for method, path, operation in _operations(document):
        has_body = "requestBody" in operation
        assert ("422" in operation["responses"]) == has_body, (method, path)
        if operation.get("parameters"):
            # A bad parameter is a 400 here, so an operation with parameters documents it.
            assert "400" in operation["responses"], (method, path)


def test_reads_of_the_database_document_503(document: dict[str, Any]) -> None:
    for method, path, operation in _api_operations(document):
        if path != "/api/v4/":
            assert "503" in operation["responses"], (method, path)


def test_each_resource_schema_has_examples_that_are_valid_and_complete(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    models = _models()
    expected = {
        name
        for name in models
        if name.endswith(("Out", "In", "Patch")) or name in {"GridTable", "ApiRoot"}
    }
    with_examples = {name for name, schema in schemas.items() if "examples" in schema}
    assert expected <= with_examples
    for name in sorted(with_examples & set(models)):
        model, schema = models[name], schemas[name]
        for example in schema["examples"]:
            # As a client sends or receives it: JSON, validated by the same model.
            model.model_validate_json(json.dumps(example))
            if name.endswith("Out") or name in {"GridTable", "ApiRoot"}:
                # Every key the resource has, in the order it is served.
                assert list(example) == list(schema["properties"]), name


def _same_instant(ours: str | None, theirs: str | None) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    return dt.datetime.fromisoformat(ours) == dt.datetime.fromisoformat(theirs)


def test_the_package_examples_are_the_seed_records_on_our_host() -> None:
    ours = {example["id"]: example for example in (examples.DJANGO_SHOP, examples.TWOSCOOPS)}
    records = seed_records()
    assert sorted(ours) == sorted(record["id"] for record in records)
    for record in records:
        example = ours[record["id"]]
        assert list(example)[: len(record)] == list(record)
        for key, theirs in record.items():
            value = example[key]
            if key in {"category", "grids"}:
                links = value if isinstance(value, list) else [value]
                originals = theirs if isinstance(theirs, list) else [theirs]
                assert [link.replace(examples.API, "") for link in links] == [
                    link.replace("https://djangopackages.org/api/v4", "") for link in originals
                ]
            elif key in {"last_updated", "last_fetched", "created", "modified"}:
                assert _same_instant(value, theirs), key
                assert value.endswith("Z"), key
            elif key == "participants":
                assert value == theirs[: len(value)]
            else:
                assert value == theirs, key


def test_no_example_links_to_the_original_site() -> None:
    text = Path(examples.__file__).read_text()
    assert "djangopackages.org" not in text.replace("djangopackages.org's", "")


async def test_the_served_document_is_the_apps_document(
    client: httpx.AsyncClient, app: Any
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(app.openapi()))
