"""Services: the rules of each aggregate, shared by the API, the importer and the refresher.

`origin` says, in one table, how a record written by a user differs from one imported from
a source; `packages`, `grids`, `categories` and `tokens` each own an aggregate's writes and
rules (routers and the CLI call them; repositories only query).
"""
