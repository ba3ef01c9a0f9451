"""What every fake upstream shares: scripted faults, answered before the normal handling.

A test says "the next 2 requests whose path contains /stats answer 502" with
`faults.add("/stats", Fault(502), times=2)`; each fake consults `faults.take(path)` first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON-encoded unless bytes

    def response(self) -> Response:
        if isinstance(self.body, bytes):
            content = self.body
        else:
            content = json.dumps(self.body if self.body is not None else {}).encode()
        return Response(content, self.status, headers=self.headers, media_type="application/json")


@dataclass
class Faults:
    _pending: list[tuple[str, Fault]] = field(default_factory=list)

    def add(self, path_contains: str, fault: Fault, *, times: int = 1) -> None:
        self._pending.extend([(path_contains, fault)] * times)

    def take(self, path: str) -> Fault | None:
        for index, (needle, fault) in enumerate(self._pending):
            if needle in path:
                del self._pending[index]
                return fault
        return None
