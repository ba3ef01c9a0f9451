"""Examples for the OpenAPI document, taken from djangopackages.org's own records.

The two packages are the contract's seed records (django SHOP, id 631, and
django-twoscoops-project, id 1641) as this service serves them: instants in UTC, hyperlinks
on an example host, contributor lists shortened. The category and grid are the ones those
records point at. tests/test_openapi.py checks each example against its schema and the
packages against the seed records.
"""

from __future__ import annotations

from typing import Any

from app.models import OWN_FIELDS_UNSET

API = "https://packages.example.org/api/v4"
NO_COMMITS = [0] * 52

# Both packages are imported GitHub repositories with none of our own fields set yet.
_IMPORTED_FROM_GITHUB: dict[str, Any] = {
    "repo_host": "github",
    **OWN_FIELDS_UNSET,
    "deprecated_by": None,
    "django_versions": [],
    "python_versions": [],
}


def _inactive_since(last_commit: str) -> dict[str, Any]:
    """The maintenance answer of a package with no commit or release for years."""
    return {
        "status": "inactive",
        "reasons": [f"no commit since {last_commit[:7]}"],
        "last_commit": last_commit,
        "last_release": None,
        "commits_last_year": 0,
    }


DJANGO_SHOP: dict[str, Any] = {
    "category": f"{API}/categories/2/",
    "grids": [f"{API}/grids/41/", f"{API}/grids/287/"],
    "id": 631,
    "title": "django SHOP",
    "slug": "django-shop",
    "last_updated": "2021-02-28T18:04:57Z",
    "last_fetched": "2026-02-15T23:13:49.575476Z",
    "repo_url": "https://github.com/awesto/django-shop",
    "pypi_version": "1.2.4",
    "created": "2011-02-13T01:04:57.388326Z",
    "modified": "2026-01-28T19:34:12.564553Z",
    "repo_forks": 1045,
    "repo_description": "A Django based shop system",
    "pypi_url": "http://pypi.python.org/pypi/django-shop",
    "documentation_url": "https://readthedocs.org/projects/django-shop/",
    "repo_watchers": 3310,
    "commits_over_52": NO_COMMITS,
    "participants": ["jrief", "rfleschenberg", "chrisglass", "khchine5", "bmihelac"],
    "url": f"{API}/packages/631/",
    **_IMPORTED_FROM_GITHUB,
    "maintenance": _inactive_since("2021-02-28T18:04:57Z"),
    # As of last_fetched; the imported score (0) was computed by the original directory.
    "score_breakdown": {
        "score": -500,
        "stars": 3310,
        "quarters_since_last_commit": 19,
        "age_penalty": -6289.0,
        "supports_python3": None,
        "python2_penalty": -993.0,
        "before_floor": -3972,
        "floor": -500,
        "floor_applied": True,
    },
}

TWOSCOOPS: dict[str, Any] = {
    "category": f"{API}/categories/2/",
    "grids": [f"{API}/grids/127/", f"{API}/grids/140/"],
    "id": 1641,
    "title": "django-twoscoops-project",
    "slug": "django-twoscoops-project",
    "last_updated": "2015-07-09T17:28:06Z",
    "last_fetched": "2026-02-15T18:05:15.400073Z",
    "repo_url": "https://github.com/twoscoops/django-twoscoops-project",
    "pypi_version": None,
    "created": "2013-01-17T19:28:23.889729Z",
    "modified": "2026-01-28T18:22:54.439324Z",
    "repo_forks": 337,
    "repo_description": "The sample project layout from the book, "
    '"Two Scoops of Django 1.5 and 1.6"',
    "pypi_url": "",
    "documentation_url": "https://github.com/twoscoops/django-twoscoops-project",
    "repo_watchers": 870,
    "commits_over_52": NO_COMMITS,
    "participants": ["pydanny", "octaflop", "audreyfeldroy", "juanriaza", "wlonk"],
    "url": f"{API}/packages/1641/",
    **_IMPORTED_FROM_GITHUB,
    "maintenance": _inactive_since("2015-07-09T17:28:06Z"),
    "score_breakdown": {
        "score": -500,
        "stars": 870,
        "quarters_since_last_commit": 42,
        "age_penalty": -3654.0,
        "supports_python3": None,
        "python2_penalty": -261.0,
        "before_floor": -3045,
        "floor": -500,
        "floor_applied": True,
    },
}

PACKAGE_IN: dict[str, Any] = {
    "title": "django SHOP",
    "slug": "django-shop",
    "category": "apps",
    "repo_url": "https://github.com/awesto/django-shop",
    "pypi_url": "django-shop",
    "documentation_url": "https://readthedocs.org/projects/django-shop/",
}
PACKAGE_PATCH: dict[str, Any] = {"documentation_url": "https://django-shop.readthedocs.io/"}

CATEGORY: dict[str, Any] = {
    "id": 2,
    "title": "App",
    "slug": "apps",
    "description": "Small components used to build projects.",
    "title_plural": "Apps",
    "show_pypi": True,
    "created": "2010-08-14T22:47:52.508112Z",
    "modified": "2022-03-04T13:20:15.321002Z",
    "url": f"{API}/categories/2/",
}
CATEGORY_IN: dict[str, Any] = {
    "title": "App",
    "slug": "apps",
    "description": "Small components used to build projects.",
    "title_plural": "Apps",
    "show_pypi": True,
}
CATEGORY_PATCH: dict[str, Any] = {"title_plural": "Apps"}

GRID: dict[str, Any] = {
    "id": 41,
    "title": "eCommerce",
    "slug": "ecommerce",
    "description": "Shops, carts and checkouts.",
    "is_locked": False,
    "packages": [f"{API}/packages/631/"],
    "header": False,
    "created": "2010-09-04T19:11:05.229735Z",
    "modified": "2025-11-03T09:42:31.018220Z",
    "url": f"{API}/grids/41/",
    "features": f"{API}/grids/41/features/",
    "table": f"{API}/grids/41/table/",
}
GRID_IN: dict[str, Any] = {
    "title": "eCommerce",
    "slug": "ecommerce",
    "description": "Shops, carts and checkouts.",
    "packages": ["django-shop"],
}
GRID_PATCH: dict[str, Any] = {"is_locked": True}

FEATURE: dict[str, Any] = {
    "id": 7,
    "url": f"{API}/grids/41/features/7/",
    "grid": f"{API}/grids/41/",
    "title": "Multi-currency",
    "description": "Prices in more than one currency.",
    "created": "2024-05-02T08:15:00Z",
    "modified": "2024-05-02T08:15:00Z",
}
FEATURE_IN: dict[str, Any] = {
    "title": "Multi-currency",
    "description": "Prices in more than one currency.",
}
FEATURE_PATCH: dict[str, Any] = {"description": "Prices and payments in several currencies."}

MEMBERSHIP: dict[str, Any] = {
    "url": f"{API}/grids/41/packages/631/",
    "grid": f"{API}/grids/41/",
    "package": f"{API}/packages/631/",
    "created": "2011-02-13T01:05:12Z",
}
MEMBERSHIP_IN: dict[str, Any] = {"package": "django-shop"}

ELEMENT: dict[str, Any] = {
    "url": f"{API}/grids/41/features/7/elements/631/",
    "grid": f"{API}/grids/41/",
    "feature": f"{API}/grids/41/features/7/",
    "package": f"{API}/packages/631/",
    "text": "Yes",
    "created": "2024-05-02T08:16:40Z",
    "modified": "2024-05-02T08:16:40Z",
}
ELEMENT_IN: dict[str, Any] = {"text": "Yes"}

TABLE: dict[str, Any] = {
    "grid": f"{API}/grids/41/",
    "title": "eCommerce",
    "packages": [
        {
            "id": 631,
            "url": f"{API}/packages/631/",
            "title": "django SHOP",
            "slug": "django-shop",
            "repo_url": "https://github.com/awesto/django-shop",
            "repo_watchers": 3310,
            "repo_forks": 1045,
            "pypi_version": "1.2.4",
            "last_updated": "2021-02-28T18:04:57Z",
            "score": 0,
            "django_versions": [],
            "python_versions": [],
            "status": "inactive",
            "last_release": None,
        }
    ],
    "features": [
        {
            "id": 7,
            "url": f"{API}/grids/41/features/7/",
            "title": "Multi-currency",
            "description": "Prices in more than one currency.",
            "elements": ["Yes"],
        }
    ],
}

API_ROOT: dict[str, Any] = {
    "categories": f"{API}/categories/",
    "grids": f"{API}/grids/",
    "packages": f"{API}/packages/",
}


LOOKUP_IN: dict[str, Any] = {
    "items": ["django-shop", "pkg:github/twoscoops/django-twoscoops-project", "nothing-here"],
    "django": "5.2",
    "python": "3.13",
}
LOOKUP_REQUIREMENTS: dict[str, Any] = {
    "requirements": "-r base.txt\ndjango-shop>=1.2,<2  # the shop\n",
    "django": "5.2",
}
LOOKUP_OUT: dict[str, Any] = {
    "results": [
        {
            "query": "django-shop>=1.2,<2",
            "name": "django-shop",
            "package": DJANGO_SHOP,
            "compatible": "unknown",
            "reasons": ["Django support unknown: no Framework :: Django :: X.Y classifiers"],
        }
    ],
    "skipped": [
        {
            "line": 1,
            "text": "-r base.txt",
            "reason": "includes another requirements file, which is not read here",
        }
    ],
}


# By the schema's name in the OpenAPI document (the model's class name). Added to the
# document after FastAPI builds it (app.openapi): FastAPI drops every null from examples
# and Pydantic sorts their keys, and these must show the keys and nulls the API serves.
SCHEMA_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "PackageOut": [DJANGO_SHOP, TWOSCOOPS],
    "PackageIn": [PACKAGE_IN],
    "PackagePatch": [PACKAGE_PATCH],
    "CategoryOut": [CATEGORY],
    "CategoryIn": [CATEGORY_IN],
    "CategoryPatch": [CATEGORY_PATCH],
    "GridOut": [GRID],
    "GridIn": [GRID_IN],
    "GridPatch": [GRID_PATCH],
    "FeatureOut": [FEATURE],
    "FeatureIn": [FEATURE_IN],
    "FeaturePatch": [FEATURE_PATCH],
    "MembershipOut": [MEMBERSHIP],
    "MembershipIn": [MEMBERSHIP_IN],
    "ElementOut": [ELEMENT],
    "ElementIn": [ELEMENT_IN],
    "GridTable": [TABLE],
    "ApiRoot": [API_ROOT],
    "MaintenanceOut": [DJANGO_SHOP["maintenance"]],
    "ScoreBreakdownOut": [DJANGO_SHOP["score_breakdown"]],
    "LookupIn": [LOOKUP_IN, LOOKUP_REQUIREMENTS],
    "LookupOut": [LOOKUP_OUT],
    "SkippedOut": LOOKUP_OUT["skipped"],
}
