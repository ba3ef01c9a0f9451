"""The read cache: each worker keeps the answers it rendered to anonymous GETs, and forgets
each one the moment the data it was read from changes.

- tags.py: what an answer depends on (a package, a grid, a category, or "anything"), named
  the way the database's triggers name what a write touched.
- store.py: the answers, least recently used first within CACHE_MAX_MB, indexed by tag.
- postgres.py / sqlite.py: how a worker learns what any process wrote (LISTEN/NOTIFY; a
  versions table behind PRAGMA data_version).
- middleware.py: answers from the store, fills it, and bypasses it whenever it cannot be
  kept exact.
docs/performance.md tells operators how it behaves; migration c4f8a2e6b9d1 holds the
triggers.
"""
