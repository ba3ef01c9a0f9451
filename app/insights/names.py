"""PyPI project names as PEP 503 compares them: `Django_Shop`, `django.shop` and
`django-shop` are one project, `django-shop`."""

from __future__ import annotations

from packaging.utils import canonicalize_name

# PEP 508's rule for a project name, which PyPI enforces; written once, in app.normalize.
from app.normalize import _PYPI_NAME


def pypi_name(text: str) -> str:
    """The PEP 503 normalized form of a project name. Raises ValueError for anything that
    cannot be a project's name on PyPI."""
    if not _PYPI_NAME.fullmatch(text):
        raise ValueError(f"{text!r} is not a PyPI project name")
    return canonicalize_name(text)


def stored_pypi_name(pypi_url: str | None) -> str | None:
    """The PEP 503 name of the PyPI project a package's pypi_url names (a pypi.org or
    pypi.python.org project page, or a bare name), kept in packages.pypi_name so a
    lookup finds the package by name through an index; None when it names none."""
    # Imported here: app.refresh reaches app.models, which the writers of pypi_name use.
    from app.normalize import pypi_project

    name = pypi_project(pypi_url or "")
    if name is None:
        return None
    try:
        return pypi_name(name)
    except ValueError:
        return None
