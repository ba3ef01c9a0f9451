"""bench/refresh.py in its quick mode: what it reports is what the issue asks, so the figures
the README quotes come from a benchmark that runs in CI too (no timings are checked)."""

from __future__ import annotations

from bench.refresh import COLD_TARGET, QUICK_PACKAGES, WARM_TARGET, measure
from bench.refresh_world import FIELDS
from tests.conftest import Databases


async def test_a_cold_and_a_warm_refresh_get_every_field_right_within_the_point_targets(
    databases: Databases,
) -> None:
    result = await measure(packages=QUICK_PACKAGES, database_url=await databases.fresh())

    cold, warm = result.runs
    for run in (cold, warm):
        assert run.summary.failure is None
        assert {name: run.accuracy(name, result.packages) for name in FIELDS} == dict.fromkeys(
            FIELDS, 100.0
        ), run.wrong
    assert result.points_per_github_package(cold) <= COLD_TARGET
    assert result.points_per_github_package(warm) <= WARM_TARGET
    assert cold.stats_asks == warm.stats_asks == 0  # no statistics asked, none waited for
