"""The metrics refresher: keeps every package's repository and PyPI figures current."""
