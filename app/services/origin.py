"""Who wrote a value decides how much of it is ours to shape: the one place that says so.

A user writes through the API, and we hold them to the original's forms: we fill in and
normalize what they send, so the directory stays tidy. A source (an import from
djangopackages.org, another packages-api, or an export file) holds records the original's
*database* allowed, older rows included: we store them as they are, so the read API serves
each value back as the source served it. Everything else (column sizes, NUL characters,
references that must exist) is the same for both.

value                     a user (Origin.USER)              a source (Origin.SOURCE)
------------------------  --------------------------------  --------------------------------
ids, created, modified    ours: a new id, now               the source's
repo_url                  normalized: https://host/owner/r  as given: any host, any spelling
pypi_url                  a bare name becomes its           as given: a bare name, an old
                          https://pypi.org/project/NAME/    http://pypi.python.org/pypi/NAME
documentation_url         an http(s) URL, blank or null     as given, null included
repo_host                 from repo_url                     from the repository repo_url
                                                            names in whatever spelling
titles                    stripped, not blank, the form's   as given: not blank, the
                          length                            column's length
slugs                     from the title when left out;     as given: Django's slug rule,
                          never only digits                 only digits allowed ("1984")
a category's slug         must be free (409 otherwise)      may be another category's too:
                                                            a slug then names the lowest id
long texts (a grid's      the original's form limits        any length
description, ...)         (1000 characters)
figures, commits_over_52  not writable: the refresher's     the source's; [] until the
last_fetched, ...                                           original first fetched it

A user who sends a URL back exactly as the API served it keeps it as stored, so a PUT of
what a GET served changes nothing, an imported spelling included.

The API's writes go through the services (app/services/packages.py, grids.py,
categories.py, tokens.py); the importer (app/transfer/records.py, loader.py) bulk-upserts
and takes from the same modules the column lengths of titles and slugs and the URL rules,
one function for both writers (`app.services.packages.stored_urls`).
"""

from __future__ import annotations

from enum import StrEnum


class Origin(StrEnum):
    USER = "user"
    SOURCE = "source"
