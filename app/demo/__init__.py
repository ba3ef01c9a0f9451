"""The demo directory: well-known Django packages, categories and comparison grids.

`directory.json` is an export (docs/export-format.md) written by hand from public facts
(repositories, PyPI projects, documentation, what each package does) in our own words. Its
figures (stars, forks, commits) are left as never fetched: `packages-api refresh` fetches
the real ones. `packages-api demo` and `serve --demo` load it through the importer
(app/transfer), so it is checked like any other import.
"""

from app.demo.load import DEMO_FILE, DemoLoad, DirectorySize, Outcome, load_demo

__all__ = ["DEMO_FILE", "DemoLoad", "DirectorySize", "Outcome", "load_demo"]
