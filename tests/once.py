"""What building an app in every test costs beyond the test itself, and how it is avoided.

Most tests build an app (the `app` fixture, and many tests of their own):

- MethodsMiddleware reads the app's OpenAPI document on its first request. Generating it
  took 150-350 ms of CPU, often more than the rest of the test. It is a pure function of the
  routes and the app's metadata, so it is remembered under a key made of exactly those:
  endpoints and dependencies by identity, everything else by value. An app with another
  route, setting or tag gets its own document.
- FastAPI remembers, per callable, whether it is a coroutine or a generator, in caches of
  4,096 entries. The docs pages' endpoints are closures over their app, so those caches
  kept every app a test built alive (22,000 objects each): a worker's heap grew by
  millions of objects over a run, and each full garbage collection walked them all (single
  tests took 4 s of CPU late in a run). Forgotten after each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from typing import Any

import orjson
from fastapi import params, routing
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies import models as fastapi_dependencies
from starlette.routing import BaseRoute

# The attributes of an APIRoute that get_openapi reads (the rest derive from them).
_ROUTE_INPUTS = (
    "path",
    "endpoint",
    "methods",
    "name",
    "response_model",
    "status_code",
    "tags",
    "dependencies",
    "summary",
    "description",
    "response_description",
    "responses",
    "deprecated",
    "operation_id",
    "response_model_include",
    "response_model_exclude",
    "response_model_by_alias",
    "response_model_exclude_unset",
    "response_model_exclude_defaults",
    "response_model_exclude_none",
    "response_class",
    "callbacks",
    "openapi_extra",
    "generate_unique_id_function",
    "strict_content_type",
    "stream_item_type",
)
# An included router's context, less the objects made per app (walked or not in the doc).
_INCLUDE_SKIPPED = {"included_router", "dependency_overrides_provider"}


def _frozen(value: Any) -> Any:
    """A hashable stand-in for `value`: callables and classes by identity, data by value."""
    if value is None or isinstance(value, str | int | float | bool | Enum):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = [_frozen(item) for item in value]
        return tuple(sorted(items, key=repr) if isinstance(value, set | frozenset) else items)
    if isinstance(value, dict):
        return tuple((repr(key), _frozen(item)) for key, item in value.items())
    if isinstance(value, params.Depends):
        scopes = _frozen(getattr(value, "scopes", None))  # Security's
        return ("Depends", value.dependency, value.use_cache, getattr(value, "scope", None), scopes)
    if isinstance(value, DefaultPlaceholder):
        return ("Default", _frozen(value.value))
    if isinstance(value, BaseRoute):
        return tuple(_route_shape([value]))
    if callable(value):  # functions and classes: the very object
        return value
    return repr(value)


def _route_shape(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:  # an included router: its context, then its own routes
            context = vars(route.include_context)
            yield (
                "include",
                tuple(
                    (name, _frozen(value))
                    for name, value in sorted(context.items())
                    if name not in _INCLUDE_SKIPPED
                ),
            )
            yield ("routes", tuple(_route_shape(router.routes)))
        elif isinstance(route, routing.APIRoute) and route.include_in_schema:
            yield tuple((name, _frozen(getattr(route, name, None))) for name in _ROUTE_INPUTS)
        else:  # not in the document (docs pages, /openapi.json): where it is is enough
            yield (type(route).__name__, getattr(route, "path", None))


def memoized_openapi(
    get_openapi: Callable[..., dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    """`get_openapi` that computes each distinct document once; callers get their own copy
    (install_openapi reshapes the one it is given)."""
    documents: dict[Any, bytes] = {}

    def cached(*, routes: Any, **metadata: Any) -> dict[str, Any]:
        key = (tuple(_route_shape(routes)), _frozen(metadata))
        if key not in documents:
            documents[key] = orjson.dumps(get_openapi(routes=routes, **metadata))
        document: dict[str, Any] = orjson.loads(documents[key])
        return document

    return cached


def forget_callable_kinds() -> None:
    """Empty FastAPI's per-callable caches (and with them, the apps they kept alive)."""
    for name in dir(fastapi_dependencies):
        clear = getattr(getattr(fastapi_dependencies, name), "cache_clear", None)
        if callable(clear):
            clear()
