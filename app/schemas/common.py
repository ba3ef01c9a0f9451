"""Field types shared by the resource schemas, and the base of every request body."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from app.errors import InvalidBody
from app.normalize import validate_slug

Title50 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Title100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# The schema states the slug rule too, so clients (and the docs page) know it up front;
# validate_slug still enforces it, with a readable message.
_SLUG_SCHEMA = {
    "pattern": "^[-a-zA-Z0-9_]+$",
    "not": {"pattern": "^[0-9]+$"},
    "description": "Letters, digits, `-` and `_`; never only digits.",
}
Slug50 = Annotated[
    str,
    StringConstraints(max_length=50),
    AfterValidator(validate_slug),
    WithJsonSchema({"type": "string", "maxLength": 50, **_SLUG_SCHEMA}),
]
Slug100 = Annotated[
    str,
    StringConstraints(max_length=100),
    AfterValidator(validate_slug),
    WithJsonSchema({"type": "string", "maxLength": 100, **_SLUG_SCHEMA}),
]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Url = Annotated[str, StringConstraints(max_length=255)]


def _in_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-05:00 is a valid datetime, but past the last one in UTC.
        raise ValueError("is out of range once converted to UTC") from None


Instant = Annotated[
    AwareDatetime,
    AfterValidator(_in_utc),
    Field(description="With a UTC offset or `Z`; stored and answered in UTC."),
]


def _not_a_boolean(value: Any) -> Any:
    # Lax validation would read `true` as the id 1 and quietly reference that row.
    if isinstance(value, bool):
        raise ValueError("must be an id, a slug or a hyperlink")
    return value


Ref = Annotated[
    int | Annotated[str, StringConstraints(min_length=1, max_length=500)],
    BeforeValidator(_not_a_boolean),
    Field(
        description="The id, the slug, or our own hyperlink of the referenced resource.",
        examples=[2, "apps", "https://packages.example.org/api/v4/categories/2/"],
    ),
]


class WriteBody(BaseModel):
    """A request body: unknown keys are refused, keys of the representation that are
    read-only (ids, timestamps, metrics) are accepted and ignored, as DRF does, so a
    client can PUT back what it GOT."""

    model_config = ConfigDict(extra="forbid")
    read_only: ClassVar[frozenset[str]] = frozenset()

    # Fields that a PUT may leave out (null) to keep their current value.
    kept_when_omitted: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        # No database column can hold NUL (PostgreSQL refuses it even as a query parameter),
        # so it is refused in any string of the input, keys included. InvalidBody rather than
        # ValueError: a model validator's ValueError cannot name the field it is about.
        field = _nul_at(data, ())
        if field is not None:
            raise InvalidBody(field or "body", "must not contain NUL characters (\\u0000)")
        return data

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in cls.read_only}
        return data

    def changes(self) -> dict[str, Any]:
        """What a PUT sets: every field, except those it may keep by leaving them out."""
        return {
            name: value
            for name, value in self.model_dump().items()
            if not (value is None and name in self.kept_when_omitted)
        }


class PatchBody(WriteBody):
    """A PATCH body: only the fields sent change; null only where null is a value."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_unset=True)
        for name, value in values.items():
            if value is None and name not in self.nullable:
                raise InvalidBody(name, "cannot be null")
        return values


def _nul_at(value: Any, path: tuple[str, ...]) -> str | None:
    """The dotted path of the first string holding a NUL character in `value`, or None."""
    if isinstance(value, str):
        return ".".join(path) if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, (*path, str(key))) or _nul_at(item, (*path, str(key)))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            found = _nul_at(item, (*path, str(position)))
            if found is not None:
                return found
    return None
