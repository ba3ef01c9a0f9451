"""Thin HTTP endpoints: parse, call a repository, render. One module per resource."""
