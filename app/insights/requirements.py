"""A requirements.txt, read as pip reads one (pip's "Requirements File Format"), but only to
learn which PyPI projects it names: nothing is fetched, included or installed.

- Lines are split as str.splitlines() splits them, and numbered from 1.
- A line ending in `\\` continues on the next one, unless a comment holds the backslash;
  the joined line has the number of its first line.
- `#` at the start of a line or after whitespace starts a comment.
- A requirement is PEP 508 (`name[extras] specifiers ; marker`) parsed with `packaging`,
  followed by per-requirement options: `--hash=ALGO:HEX` (sha256, sha384, sha512, as pip
  allows), `--config-settings`/`-C`, `--global-option`. Any other option there is an error.
- Skipped, each with its line number and why: option lines (`-r`, `-c`, `-e`,
  `--index-url`, `--find-links`, ...), URL and path requirements (`name @ URL`,
  `https://...`, `./pkg`, `pkg.whl`), and requirements that use an environment variable
  (`${VERSION}`, which only pip on the user's machine can expand).
- Anything else is an error naming the line; every bad line is reported at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from app.insights.problems import InputProblems

MAX_REQUIREMENTS = 1000

# pip: whitespace followed by #, or # at the start of the line.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_WHOLE_LINE_COMMENT = re.compile(r"\s*#")
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")
_STRONG_HASHES = {"sha256", "sha384", "sha512"}
_HASH = re.compile(r"([a-z0-9]+):([0-9a-fA-F]+)")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")
# Options that may follow a requirement on its line (pip's per-requirement options), and
# whether they take a value.
_REQUIREMENT_OPTIONS = {"--hash": True, "--config-settings": True, "-C": True}
_REQUIREMENT_OPTIONS |= {"--global-option": True}
# Why a line that starts with an option is skipped.
_OPTION_LINES = {
    "-r": "includes another requirements file, which is not read here",
    "--requirement": "includes another requirements file, which is not read here",
    "-c": "includes a constraints file, which is not read here",
    "--constraint": "includes a constraints file, which is not read here",
    "-e": "is an editable install from a path or URL, not a PyPI release",
    "--editable": "is an editable install from a path or URL, not a PyPI release",
}


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    text: str  # the line as written (joined when continued)
    message: str

    @property
    def place(self) -> str:
        return f"line {self.line}"


class RequirementsError(InputProblems[LineProblem]):
    """Lines that are neither a requirement nor something pip would skip."""


@dataclass(frozen=True, slots=True)
class RequirementLine:
    line: int
    text: str  # the requirement without comment or options: "django-shop[x]==1.2 ; ..."
    name: str  # PEP 503 normalized
    extras: tuple[str, ...]
    specifier: str  # "" when any version will do
    marker: str | None
    hashes: int  # how many --hash options pin the files


@dataclass(frozen=True, slots=True)
class SkippedLine:
    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Requirements:
    requirements: tuple[RequirementLine, ...]
    skipped: tuple[SkippedLine, ...]


def logical_lines(content: str) -> list[tuple[int, str]]:
    """(number, text) of each logical line: continuations joined, numbered by their first.

    As pip does, only a whole-line comment stops a continuation: on `foo  # note \\` the
    backslash continues the line, and the next line becomes part of the comment.
    """
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    first = 0
    for number, line in enumerate(content.removeprefix("\ufeff").splitlines(), start=1):
        comment = _WHOLE_LINE_COMMENT.match(line) is not None
        if line.endswith("\\") and not comment:
            if not pending:
                first = number
            pending.append(line.strip("\\"))
            continue
        if pending:
            # A space before a comment line keeps it a comment once joined.
            pending.append(f" {line}" if comment else line)
            joined.append((first, "".join(pending)))
            pending = []
        else:
            joined.append((number, line))
    if pending:  # the file ends on a backslash
        joined.append((first, "".join(pending)))
    return joined


def parse_requirements(content: str, *, limit: int = MAX_REQUIREMENTS) -> Requirements:
    """The requirements and skipped lines of a requirements.txt. Raises RequirementsError
    naming every bad line, or when there are more than `limit` requirements."""
    requirements: list[RequirementLine] = []
    skipped: list[SkippedLine] = []
    problems: list[LineProblem] = []
    for number, raw in logical_lines(content):
        text = _COMMENT.sub("", raw).strip()
        if not text:
            continue
        outcome = _read_line(number, text)
        if isinstance(outcome, RequirementLine):
            requirements.append(outcome)
        elif isinstance(outcome, SkippedLine):
            skipped.append(outcome)
        else:
            problems.append(LineProblem(number, raw.strip(), outcome))
    if len(requirements) > limit:
        extra = requirements[limit]
        problems.append(
            LineProblem(extra.line, extra.text, f"more than {limit} requirements in one request")
        )
    if problems:
        raise RequirementsError(problems)
    return Requirements(tuple(requirements), tuple(skipped))


def _read_line(number: int, text: str) -> RequirementLine | SkippedLine | str:
    """A requirement, a skipped line, or the message saying what is wrong with it."""
    if text.startswith("-"):
        option = re.split(r"[\s=]", text, maxsplit=1)[0]
        if option.startswith("-") and not option.startswith("--") and len(option) > 2:
            option = option[:2]  # "-rbase.txt" is "-r base.txt", as pip reads it
        reason = _OPTION_LINES.get(option, f"is the option {option}, which names no package")
        return SkippedLine(number, text, reason)
    if _ENV_VAR.search(text):
        return SkippedLine(number, text, "uses an environment variable, which pip expands")
    words = text.split()
    cut = next((i for i, word in enumerate(words) if i and word.startswith("-")), len(words))
    requirement_text, options = " ".join(words[:cut]), words[cut:]
    hashes = _hash_count(options)
    if isinstance(hashes, str):
        return hashes
    try:
        requirement = Requirement(requirement_text)
    except InvalidRequirement as error:
        if _looks_like_location(requirement_text):
            return SkippedLine(number, text, "installs from a URL or a path, not from PyPI")
        return f"not a requirement: {_first_line(str(error))}"
    if requirement.url:
        return SkippedLine(number, text, f"installs {requirement.name} from a URL, not from PyPI")
    if requirement.name.lower().endswith(_ARCHIVES):
        return SkippedLine(number, text, "installs an archive file, not from PyPI")
    return RequirementLine(
        line=number,
        text=requirement_text,
        name=canonicalize_name(requirement.name),
        extras=tuple(sorted(requirement.extras)),
        specifier=str(requirement.specifier),
        marker=str(requirement.marker) if requirement.marker else None,
        hashes=hashes,
    )


def _hash_count(options: list[str]) -> int | str:
    """How many --hash options there are, or what is wrong with the options."""
    hashes = 0
    index = 0
    while index < len(options):
        option, equals, value = options[index].partition("=")
        if option not in _REQUIREMENT_OPTIONS:
            return f"{option} is not an option a requirement line may carry"
        if not equals:
            index += 1
            if index == len(options):
                return f"{option} needs a value"
            value = options[index]
        index += 1
        if option == "--hash":
            match = _HASH.fullmatch(value)
            if not match:
                return f"--hash takes ALGORITHM:HEXDIGEST, not {value!r}"
            if match[1] not in _STRONG_HASHES:
                allowed = ", ".join(sorted(_STRONG_HASHES))
                return f"--hash algorithm {match[1]} is not one pip allows ({allowed})"
            hashes += 1
    return hashes


def _looks_like_location(text: str) -> bool:
    """A URL or a path (what pip installs without an index): `./pkg`, `~/src/pkg`,
    `C:\\src\\pkg`, `https://host/pkg.whl`, `git+https://host/repo#egg=pkg`."""
    head = text.split(";", 1)[0].strip()
    return head.startswith((".", "~")) or "/" in head or "\\" in head


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else "invalid"
