"""Prometheus metrics: every figure the service exports, defined once.

The request middleware, the database pool collector and the refresher update these; the
`/metrics` route renders them (in multiprocess mode when several workers serve).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "packages_api_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "packages_api_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PACKAGES_REFRESHED = Counter(
    "packages_api_refresh_packages_total",
    "Packages the refresher finished, by outcome (refreshed, unchanged, pending, failed).",
    ["outcome"],
)
UPSTREAM_REQUESTS = Counter(
    "packages_api_upstream_requests_total",
    "HTTP requests sent upstream, by forge (github, gitlab, forgejo, bitbucket, pypi) and status.",
    ["forge", "status"],
)
RATE_LIMIT_REMAINING = Gauge(
    "packages_api_upstream_rate_limit_remaining",
    "Requests or points left in the upstream's current rate-limit window, by forge.",
    ["forge"],
    multiprocess_mode="mostrecent",
)
REFRESH_LAST_SUCCESS = Gauge(
    "packages_api_refresh_last_success_timestamp_seconds",
    "Unix time at which the last refresh run finished without a run-level failure.",
    multiprocess_mode="max",
)

# The database pool, per worker; summed over live workers in multiprocess mode.
DB_POOL_SIZE = Gauge(
    "packages_api_db_pool_size",
    "Connections the database pool keeps open (DB_POOL_SIZE), summed over workers.",
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_OUT = Gauge(
    "packages_api_db_pool_checked_out",
    "Database connections in use by a request or job right now, summed over workers.",
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "packages_api_db_pool_overflow",
    "Connections open beyond the pool size (at most DB_MAX_OVERFLOW per worker), summed.",
    multiprocess_mode="livesum",
)

# The read cache (app.cache), per worker; summed over live workers in multiprocess mode.
CACHE_REQUESTS = Counter(
    "packages_api_cache_requests_total",
    "Anonymous reads the read cache looked up, by result (hit, miss, bypass: the cache "
    "could not be kept exact, e.g. its database notifications were lost).",
    ["result"],
)
CACHE_EVICTIONS = Counter(
    "packages_api_cache_evictions_total",
    "Answers the read cache forgot, by reason (changed: the data behind it was written; "
    "size: least recently used, to stay within CACHE_MAX_MB; expired: time alone changed it, "
    "e.g. a maintenance status's month turned).",
    ["reason"],
)
CACHE_BYTES = Gauge(
    "packages_api_cache_bytes",
    "Bytes the read cache holds (bodies, headers and bookkeeping), summed over workers.",
    multiprocess_mode="livesum",
)
CACHE_ENTRIES = Gauge(
    "packages_api_cache_entries",
    "Answers the read cache holds, summed over workers.",
    multiprocess_mode="livesum",
)
