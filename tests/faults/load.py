"""Concurrent readers and writers against a live server, every answer kept with the phase
of the fault it was sent in, so a test can say what clients saw while the database was away.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

# Far below any test's patience: a request that takes this long is a hang, and is counted.
CLIENT_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Answer:
    phase: str
    kind: str  # "read" or "write"
    status: int | None  # None: no answer at all (a timeout or a dropped connection)
    retry_after: str | None
    body: str
    error: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Load:
    base_url: str
    token: str
    readers: int = 3
    writers: int = 3
    phase: str = "steady"
    answers: list[Answer] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # slugs of categories answered 201
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.readers + self.writers)
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=CLIENT_TIMEOUT, limits=limits, trust_env=False
        ) as client:
            workers = [self._reader(client) for _ in range(self.readers)]
            workers += [self._writer(client, number) for number in range(self.writers)]
            await asyncio.gather(*workers)

    def stop(self) -> None:
        self._stop.set()

    async def _send(self, client: httpx.AsyncClient, kind: str, request: httpx.Request) -> Answer:
        phase = self.phase
        try:
            response = await client.send(request)
        except httpx.HTTPError as error:
            answer = Answer(phase, kind, None, None, "", f"{type(error).__name__}: {error}")
        else:
            retry_after = response.headers.get("retry-after")
            answer = Answer(phase, kind, response.status_code, retry_after, response.text)
        self.answers.append(answer)
        if answer.status != 200 and answer.status != 201:
            await asyncio.sleep(0.05)  # as a client honouring Retry-After would, only faster
        return answer

    async def _reader(self, client: httpx.AsyncClient) -> None:
        paths = ["/api/v4/categories/?limit=5", "/api/v4/packages/?limit=5"]
        number = 0
        while not self._stop.is_set():
            number += 1
            await self._send(client, "read", client.build_request("GET", paths[number % 2]))

    async def _writer(self, client: httpx.AsyncClient, writer: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        number = 0
        while not self._stop.is_set():
            number += 1
            slug = f"w{writer}-{number}"
            request = client.build_request(
                "POST", "/api/v4/categories/", json={"title": slug, "slug": slug}, headers=headers
            )
            answer = await self._send(client, "write", request)
            if answer.status == 201:
                self.acknowledged.append(slug)

    def statuses(self, phase: str | None = None) -> Counter[int | None]:
        return Counter(a.status for a in self.answers if phase is None or a.phase == phase)

    def first_success_after(self, since: float, kind: str) -> float | None:
        for answer in self.answers:
            if answer.kind == kind and answer.at >= since and answer.status in {200, 201}:
                return answer.at - since
        return None
