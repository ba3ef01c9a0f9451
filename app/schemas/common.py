"""Field types shared by the resource schemas, and the base of every request body."""

from __future__ import annotations

import datetime as dt
import inspect
import re
import typing
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from app.errors import InvalidBody
from app.normalize import (
    HTTP_URL_PATTERN,
    PYPI_URL_PATTERN,
    REPO_URL_MAX_LENGTH,
    REPO_URL_PATTERN,
    validate_slug,
)

# Python's str.strip() whitespace, spelled out so the published pattern says exactly what the
# validator strips: a title must have something else.
_SPACE = (
    "\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)
_NOT_BLANK = f"[^{_SPACE}]"
# No column holds NUL (see WriteBody._refuse_nul): every free-text field says so.
NO_NUL = "^[^\\u0000]*$"
_TITLE_PATTERN = f"^[^\\u0000]*[^\\u0000{_SPACE}][^\\u0000]*$"


def _stripped(value: str) -> str:
    if not re.search(_NOT_BLANK, value.replace("\x00", " ")):
        raise ValueError("must not be blank")
    return value.strip()


def _title_schema(max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": _TITLE_PATTERN}


# Titles: at most N characters as sent, something besides spaces, stored stripped.
Title50 = Annotated[
    str,
    StringConstraints(max_length=50),
    AfterValidator(_stripped),
    WithJsonSchema(_title_schema(50)),
]
Title100 = Annotated[
    str,
    StringConstraints(max_length=100),
    AfterValidator(_stripped),
    WithJsonSchema(_title_schema(100)),
]
OptionalTitle50 = Annotated[
    str,
    StringConstraints(max_length=50),
    AfterValidator(str.strip),
    WithJsonSchema({"type": "string", "maxLength": 50, "pattern": NO_NUL}),
]
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


def free_text(max_length: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "maxLength": max_length, "pattern": NO_NUL})


LongText = Annotated[str, StringConstraints(max_length=10_000), free_text(10_000)]
# Strict: `1` or `"yes"` is no boolean, whatever lax parsing would make of it.
Flag = StrictBool


def _matching(pattern: str, message: str) -> AfterValidator:
    """Enforces the very pattern the document publishes, so the two never disagree."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def _url_schema(pattern: str, max_length: int, example: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "maxLength": max_length, "pattern": pattern, "examples": [example]}
    )


RepoUrl = Annotated[
    str,
    StringConstraints(max_length=REPO_URL_MAX_LENGTH),
    _matching(
        REPO_URL_PATTERN,
        "must be a repository URL, like https://github.com/owner/repo or git@host:owner/repo.git",
    ),
    _url_schema(REPO_URL_PATTERN, REPO_URL_MAX_LENGTH, "https://github.com/awesto/django-shop"),
]
PypiUrl = Annotated[
    str,
    StringConstraints(max_length=255),
    _matching(
        PYPI_URL_PATTERN, "must be a PyPI project name (at most 229 characters) or an http(s) URL"
    ),
    _url_schema(PYPI_URL_PATTERN, 255, "django-shop"),
]
HttpUrl = Annotated[
    str,
    StringConstraints(max_length=255),
    _matching(HTTP_URL_PATTERN, "must be an http(s) URL"),
    _url_schema(HTTP_URL_PATTERN, 255, "https://django-shop.readthedocs.io/"),
]


def _in_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-05:00 is a valid datetime, but past the last one in UTC.
        raise ValueError("is out of range once converted to UTC") from None


# The calendar's first and last days are refused: an offset could move them out of range.
_EDGE_DAYS = ("0001-01-01", "9999-12-31")


def _text_only(value: Any) -> Any:
    # Lax validation would read a number as seconds since 1970; the document says a string.
    if not isinstance(value, str | dt.datetime):
        raise ValueError("must be a date and time as text, like 2024-05-01T12:00:00Z")
    if isinstance(value, str) and value.startswith(_EDGE_DAYS):
        raise ValueError("must be after 0001-01-01 and before 9999-12-31")
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_text_only),
    AfterValidator(_in_utc),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": "^(?!0001-01-01|9999-12-31)",
            "description": "With a UTC offset or `Z`; stored and answered in UTC; "
            "after 0001-01-01 and before 9999-12-31.",
        }
    ),
]


def _not_a_boolean(value: Any) -> Any:
    # Lax validation would read `true` as the id 1 and quietly reference that row.
    if isinstance(value, bool):
        raise ValueError("must be an id, a slug or a hyperlink")
    return value


Ref = Annotated[
    int
    | Annotated[
        str,
        StringConstraints(min_length=1, max_length=500),
        WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 500, "pattern": NO_NUL}),
    ],
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
    # The resource's representation: what of it the body does not hold is read-only.
    representation: ClassVar[type[BaseModel] | None] = None
    read_only: ClassVar[frozenset[str]] = frozenset()

    # Fields that a PUT may leave out (null) to keep their current value.
    kept_when_omitted: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.representation is not None:
            cls.read_only = frozenset(cls.representation.model_fields) - set(cls.model_fields)

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


def _null_only_where_allowed(schema: dict[str, Any], model: type[Any]) -> None:
    """The document says null only where null is a value (PatchBody.nullable); elsewhere
    a field's `X | None` only means "may be left out"."""
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    for name, field in schema.get("properties", {}).items():
        branches = field.get("anyOf")
        if name in nullable or not isinstance(branches, list):
            continue
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1:
            del field["anyOf"]
            field.update({**kept[0], **field})
        else:
            field["anyOf"] = kept


class PatchBody(WriteBody):
    """A PATCH body: only the fields sent change; null only where null is a value.

    Its fields are those of the resource's PUT body, named by `fields_of` in the class
    statement, each with the same checks but optional (`X | None = None`), so the two
    bodies cannot drift apart: `class GridPatch(PatchBody, fields_of=GridIn)`.
    """

    model_config = ConfigDict(json_schema_extra=_null_only_where_allowed)
    nullable: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, *, fields_of: type[WriteBody] | None = None, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if fields_of is None:
            return
        # Python runs this inside the class statement, before pydantic's metaclass reads
        # the annotations and defaults into fields: what is set here is what it sees.
        hints = typing.get_type_hints(fields_of, include_extras=True)
        optional = {name: hints[name] | None for name in fields_of.model_fields}
        cls.__annotations__ = {**optional, **inspect.get_annotations(cls)}
        for name in optional:
            setattr(cls, name, None)

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_unset=True)
        for name, value in values.items():
            if value is None and name not in self.nullable:
                raise InvalidBody(name, "cannot be null")
        return values


Resource = TypeVar("Resource", bound=BaseModel)


def from_row(model: type[Resource], row: object, **computed: Any) -> Resource:
    """The representation of a row: each field not in `computed` is the row's attribute of
    the same name."""
    copied = {name: getattr(row, name) for name in model.model_fields if name not in computed}
    return model(**copied, **computed)


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
