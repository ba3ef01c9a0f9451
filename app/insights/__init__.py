"""Answers for the people who open a package directory: which Django and Python versions
a package supports, whether it is still maintained, why it scores what it does, and what a
lookup (names, repository URLs, PURLs, a requirements.txt) asks about.

Pure functions over what the refresher already stores: no database, no HTTP. The rules are
stated for users in docs/compatibility.md.
"""

from app.insights.lookup import (
    MAX_ITEMS,
    ItemProblem,
    LookupInput,
    LookupInputError,
    LookupQuery,
    parse_item,
    parse_items,
    parse_requirements_input,
)
from app.insights.maintenance import (
    STATUSES,
    Maintenance,
    MaintenanceThresholds,
    PypiStatus,
    Standing,
    Status,
    activity,
    activity_cutoff,
    last_activity,
    maintenance,
    standing,
)
from app.insights.purl import Purl, PurlError, parse_purl
from app.insights.requirements import (
    MAX_REQUIREMENTS,
    LineProblem,
    RequirementLine,
    Requirements,
    RequirementsError,
    SkippedLine,
    parse_requirements,
)
from app.insights.score_breakdown import ScoreBreakdown, score_breakdown
from app.insights.verdict import Compatible, PackageFacts, Verdict, compatibility
from app.insights.versions import (
    DEFAULT_PYTHON_VERSIONS,
    django_versions,
    minor_version,
    minor_versions,
    python_versions,
    supports,
)

__all__ = [
    "DEFAULT_PYTHON_VERSIONS",
    "MAX_ITEMS",
    "MAX_REQUIREMENTS",
    "STATUSES",
    "Compatible",
    "ItemProblem",
    "LineProblem",
    "LookupInput",
    "LookupInputError",
    "LookupQuery",
    "Maintenance",
    "MaintenanceThresholds",
    "PackageFacts",
    "Purl",
    "PurlError",
    "PypiStatus",
    "RequirementLine",
    "Requirements",
    "RequirementsError",
    "ScoreBreakdown",
    "SkippedLine",
    "Standing",
    "Status",
    "Verdict",
    "activity",
    "activity_cutoff",
    "compatibility",
    "django_versions",
    "last_activity",
    "maintenance",
    "minor_version",
    "minor_versions",
    "parse_item",
    "parse_items",
    "parse_purl",
    "parse_requirements",
    "parse_requirements_input",
    "python_versions",
    "score_breakdown",
    "standing",
    "supports",
]
