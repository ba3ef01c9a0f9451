"""Atom feeds: the document (atom) and its identifiers (ids). Pure: no database, no HTTP."""

from app.feeds.atom import (
    ATOM_MEDIA_TYPE,
    Category,
    Entry,
    Feed,
    Generator,
    Link,
    Person,
    Text,
    render_feed,
    rfc3339,
)
from app.feeds.ids import absolute_iri, tag_uri, web_link

__all__ = [
    "ATOM_MEDIA_TYPE",
    "Category",
    "Entry",
    "Feed",
    "Generator",
    "Link",
    "Person",
    "Text",
    "absolute_iri",
    "render_feed",
    "rfc3339",
    "tag_uri",
    "web_link",
]
