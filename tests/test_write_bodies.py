"""A PATCH body is its resource's PUT body with every field optional (PatchBody's
`fields_of`): the same fields, in the same order, with the same checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.schemas.category import CategoryIn, CategoryPatch
from app.schemas.common import PatchBody, WriteBody
from app.schemas.grid import FeatureIn, FeaturePatch, GridIn, GridPatch
from app.schemas.package import PackageIn, PackagePatch

PAIRS = [
    (PackagePatch, PackageIn),
    (CategoryPatch, CategoryIn),
    (GridPatch, GridIn),
    (FeaturePatch, FeatureIn),
]


@pytest.mark.parametrize(("patch", "put"), PAIRS, ids=lambda model: model.__name__)
def test_a_patch_body_has_the_put_bodys_fields_each_optional(
    patch: type[PatchBody], put: type[WriteBody]
) -> None:
    assert list(patch.model_fields) == list(put.model_fields)
    assert all(not f.is_required() and f.default is None for f in patch.model_fields.values())
    assert patch.model_validate({}).changes() == {}
    assert patch.read_only == put.read_only


@pytest.mark.parametrize(("patch", "put"), PAIRS, ids=lambda model: model.__name__)
def test_a_patch_body_checks_what_the_put_body_checks(
    patch: type[PatchBody], put: type[WriteBody]
) -> None:
    valid = {"title": "A title"} | ({"category": 1} if "category" in put.model_fields else {})
    for bad in ({"title": "x" * 101}, {"title": "  "}, {"title": 7}, {"unknown": 1}):
        with pytest.raises(ValidationError) as by_put:
            put.model_validate(valid | bad)
        with pytest.raises(ValidationError) as by_patch:
            patch.model_validate(bad)
        assert [e["msg"] for e in by_patch.value.errors()] == [
            e["msg"] for e in by_put.value.errors()
        ]


def test_null_is_refused_where_it_is_not_a_value() -> None:
    assert PackagePatch.model_validate({"documentation_url": None}).changes() == {
        "documentation_url": None
    }
    with pytest.raises(Exception, match="cannot be null"):
        GridPatch.model_validate({"title": None}).changes()
