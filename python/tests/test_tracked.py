"""Tracked streams survive a dropped connection: the client asks again after the last id it
received, and its loop sees every item once, in order (PROTOCOL.md section 4.7)."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterator

import pytest

import isock
from isock import Action, ClientException, tracked
from isock import aio

from conftest import CuttingProxy, TsProcess, serving

N = 3000


class Events(Action):
    """0 … n - 1, tracked, from a plain generator (pulled in the server's threads)."""

    name = "events"
    resumed_from: list[Any] = []

    def action(self, n, context):
        Events.resumed_from.append(context.last_event_id)
        start = 0 if context.last_event_id is None else context.last_event_id + 1
        for i in range(start, n):
            yield tracked(i, i)


class AsyncEvents(Action):
    """The same from an async generator, with string ids."""

    name = "asyncEvents"
    resumed_from: list[Any] = []

    async def action(self, n, context):
        AsyncEvents.resumed_from.append(context.last_event_id)
        start = 0 if context.last_event_id is None else int(context.last_event_id[1:]) + 1
        for i in range(start, n):
            if i % 100 == 0:
                await asyncio.sleep(0.001)
            yield tracked(f"e{i}", i)


class Plain(Action):
    name = "plain"

    def action(self, n):
        yield from range(n)


@pytest.fixture
def python_server() -> Iterator[isock.Server]:
    server = isock.Server("127.0.0.1", 0)
    for action in (Events(), AsyncEvents(), Plain()):
        server.addAction(action)
    with serving(server):
        yield server


def test_a_tracked_stream_from_deno_resumes_after_its_connection_is_cut(
    deno_server: TsProcess, cutting_proxy: Callable[..., CuttingProxy]
) -> None:
    proxy = cutting_proxy(deno_server.port, after=4000)
    with isock.Client("127.0.0.1", proxy.port, retry=5, timeout=30) as client:
        assert list(client.stream("events", N)) == list(range(N))
    assert proxy.connections == 2
    with isock.Client("127.0.0.1", deno_server.port) as direct:
        resumed = direct.runAction("resumedFrom")
    # The second call went on after the last item the client had: neither from the start nor past it.
    assert resumed[-2] is None and isinstance(resumed[-1], int) and 0 <= resumed[-1] < N - 1


@pytest.mark.parametrize("action", ["events", "asyncEvents"])
def test_a_tracked_stream_from_python_resumes_after_two_cuts(
    python_server: isock.Server, cutting_proxy: Callable[..., CuttingProxy], action: str
) -> None:
    proxy = cutting_proxy(python_server.port, after=3000, cuts=2)

    async def main() -> list[Any]:
        async with aio.Client("127.0.0.1", proxy.port, retry=5, timeout=30) as client:
            return [item async for item in client.stream(action, N)]

    assert asyncio.run(main()) == list(range(N))
    assert proxy.connections == 3
    resumed = (Events if action == "events" else AsyncEvents).resumed_from[-3:]
    assert resumed[0] is None and all(found is not None for found in resumed[1:])


def test_an_untagged_stream_that_is_cut_fails_with_connection_closed(
    python_server: isock.Server, cutting_proxy: Callable[..., CuttingProxy]
) -> None:
    proxy = cutting_proxy(python_server.port, after=3000)
    with isock.Client("127.0.0.1", proxy.port, retry=5, timeout=30) as client:
        items = []
        with pytest.raises(ClientException) as caught:
            for item in client.stream("plain", N):
                items.append(item)
        assert caught.value.code == "CONNECTION_CLOSED"
        assert items == list(range(len(items))) and len(items) < N
        assert list(client.stream("plain", 3)) == [0, 1, 2]  # the next call reconnects
    assert proxy.connections == 2
