"""The change feed: every write of a package, grid or category becomes one event, in the
same transaction (record), and readers follow them in order (app/routers/changes.py)."""
