"""Import from any djangopackages-compatible API or export file, and export.

The bulk loader is usable from Python on its own (benchmarks, other importers):

    from app.transfer import load_records
    async with sessionmaker() as session, session.begin():
        summary = await load_records(session, {"categories": [...], "packages": [...]})
"""

from app.transfer.loader import Loader, load_records
from app.transfer.summary import Summary

__all__ = ["Loader", "Summary", "load_records"]
