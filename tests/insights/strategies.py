"""hypothesis strategies drawn from the domains the inputs really come from: PyPI's trove
classifier list, PEP 440 specifiers as packages write Requires-Python (and the invalid
ones PyPI still serves from old releases), pip's requirements.txt syntax, PEP 508 names,
the PURL spec's components, and aware datetimes."""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet

# deadline=None: the machine is shared and busy; a slow example is not a failure here.
PROPERTY = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

TROVE = tuple(
    line
    for line in (Path(__file__).parent / "data" / "trove-classifiers.txt").read_text().splitlines()
    if line and not line.startswith("#")
)
DJANGO_TROVE = tuple(c for c in TROVE if c.startswith("Framework :: Django"))
PYTHON_TROVE = tuple(c for c in TROVE if c.startswith("Programming Language :: Python"))

# Classifiers as stored: mostly from the list (weighted towards the ones that matter
# here), some free text (an importer's row, a hand-edited record), and near misses.
near_misses = st.one_of(
    st.builds(
        "{} :: {} :: {}".format,
        st.sampled_from(["Framework", "Programming Language", "framework"]),
        st.sampled_from(["Django", "Python", "Django CMS", "django"]),
        st.one_of(
            st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}", fullmatch=True),
            st.text(max_size=8),
        ),
    ),
    st.builds(
        "Framework :: Django :: {}{}{}".format,
        st.sampled_from(["", " ", "\t"]),
        st.sampled_from(["5.2", "4.2", "10.0", "05.2", "5.2.1", "5", "\u0665.\u0662"]),
        st.sampled_from(["", " ", " :: Only"]),
    ),
)
classifier = st.one_of(
    st.sampled_from(TROVE),
    st.sampled_from(DJANGO_TROVE),
    st.sampled_from(PYTHON_TROVE),
    near_misses,
    st.text(max_size=40),
)
classifiers = st.lists(classifier, max_size=25)

# --- PEP 440 specifiers, as Requires-Python holds them ---------------------------------

python_release = st.builds(
    lambda parts: ".".join(str(p) for p in parts),
    st.lists(st.integers(0, 16), min_size=1, max_size=4).map(
        lambda parts: [3 if parts[0] > 3 else parts[0], *parts[1:]]
    ),
)
python_version_text = st.one_of(
    python_release,
    st.builds(
        "{}{}".format, python_release, st.sampled_from(["rc1", "b2", "a1", ".post1", ".dev0"])
    ),
)
single_specifier = st.one_of(
    st.builds(
        "{}{}{}".format,
        st.sampled_from([">=", "<=", ">", "<", "==", "!=", "~="]),
        st.sampled_from(["", " "]),
        python_version_text,
    ),
    st.builds("{}{}.*".format, st.sampled_from(["==", "!="]), python_release),
    st.builds("==={}".format, python_release),
)


def _valid(text: str) -> bool:
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return True


# `~=3` and `>=3.*` are not PEP 440: the valid ones are kept (invalid ones come below).
valid_requires_python = (
    st.lists(single_specifier, min_size=1, max_size=4).map(",".join).filter(_valid)
)
# What packages really wrote (PyPI accepted some of these before it validated metadata).
real_requires_python = st.sampled_from(
    [
        ">=3.8,!=3.9.*",
        "~=3.10",
        "==3.*",
        ">=3.10",
        ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*",
        ">=3.6,<4",
        "<3.12",
        ">=3.12.2",
        ">3.10.2,!=3.10.3",
        "==3.10.*,!=3.10.1",
        ">=3.9,<3.13",
        "3.6",  # invalid: no operator
        ">=3.6;",  # invalid
        "python>=3.8",  # invalid
        ">= 3.6.*",  # invalid: a wildcard with >=
        "~=3",  # invalid: ~= needs two components
        "",
        " ",
    ]
)
requires_python = st.one_of(
    st.none(), real_requires_python, valid_requires_python, st.text(max_size=20)
)

# --- names ----------------------------------------------------------------------------

# PEP 508 project names (PyPI's rule).
pypi_names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,30}[A-Za-z0-9])?", fullmatch=True)
forge_segments = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,20}", fullmatch=True).filter(
    lambda s: not s.lower().endswith(".git") and s not in {".", ".."} and ".." not in s
)

# --- datetimes --------------------------------------------------------------------------

aware_datetimes = st.datetimes(
    min_value=dt.datetime(1990, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.just(dt.UTC),
)
optional_datetimes = st.none() | aware_datetimes

# --- requirements.txt -----------------------------------------------------------------

MARKERS = [
    'python_version >= "3.8"',
    "sys_platform == 'win32'",
    'platform_machine != "x86_64" and python_version < "3.12"',
    'extra == "dev"',
    "implementation_name == 'cpython' or os_name == 'nt'",
]
HEX = string.hexdigits.lower()[:16]
sha256 = st.text(alphabet=HEX, min_size=64, max_size=64)
option_lines = st.sampled_from(
    [
        ("-r base.txt", "-r"),
        ("--requirement=base.txt", "--requirement"),
        ("-rbase.txt", "-r"),
        ("-c constraints.txt", "-c"),
        ("-e ./src/pkg", "-e"),
        ("--editable git+https://github.com/o/r#egg=r", "--editable"),
        ("--index-url https://pypi.example.org/simple", "--index-url"),
        ("-i https://pypi.example.org/simple", "-i"),
        ("--extra-index-url https://x.example.org/simple", "--extra-index-url"),
        ("--find-links ./wheels", "--find-links"),
        ("--no-binary :all:", "--no-binary"),
        ("--pre", "--pre"),
        ("--trusted-host pypi.example.org", "--trusted-host"),
        ("--require-hashes", "--require-hashes"),
    ]
)
location_lines = st.sampled_from(
    [
        "./pkg",
        ".",
        "../sibling/pkg[extra]",
        "~/src/pkg",
        "/abs/path/pkg-1.0.tar.gz",
        "https://example.org/pkg-1.0-py3-none-any.whl",
        "git+https://github.com/o/r@v1#egg=r",
        "pkg-1.0-py3-none-any.whl",
        "pkg-1.0.tar.gz",
        "C:\\src\\pkg",
        "name @ https://example.org/name-1.0.zip",
        "name @ git+https://github.com/o/name@main",
        "name[extra] @ file:///srv/name ; python_version >= '3.8'",
    ]
)
