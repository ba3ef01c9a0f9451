"""GitHub's real GraphQL schema, loaded once per process for validation and execution."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, build_schema, parse, validate

# ../shared beside the checkout: /work/main's is /work/shared, and so is a worktree's
# (/work/wt/NAME) one level further up.
_UPSTREAM = Path("shared") / "upstream" / "github-schema.graphql"
SCHEMA_PATH = next(
    (
        parent / _UPSTREAM
        for parent in Path(__file__).resolve().parents[3:]
        if (parent / _UPSTREAM).exists()
    ),
    Path(__file__).resolve().parents[3] / _UPSTREAM,
)


@lru_cache(maxsize=1)
def github_schema() -> GraphQLSchema:
    # The published SDL repeats two fields and deprecates Node.id implementations, which
    # graphql-core's strict checks of the *schema* refuse while GitHub serves it anyway;
    # queries are still validated against it field by field, as GitHub does.
    schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"), assume_valid_sdl=True)
    schema._validation_errors = []
    return schema


def query_errors(query: str) -> list[GraphQLError]:
    """Why GitHub would refuse `query` (empty when it is valid against the schema)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return [error]
    return validate(github_schema(), document)
