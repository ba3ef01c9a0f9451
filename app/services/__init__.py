"""Services: the rules of each aggregate, shared by the API, the importer and the refresher.

`origin` says, in one table, how a record written by a user differs from one imported from
a source; `packages` holds the package rules both writers call.
"""
