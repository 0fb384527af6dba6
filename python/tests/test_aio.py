"""isock.aio: the asyncio client and server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import isock
from isock import Action, IsockError, RemoteError
from isock.aio import Client, Server

from conftest import client_tls, server_tls


class Echo(Action):
    name = "echo"

    async def action(self, data):
        return data


class Ticks(Action):
    name = "ticks"

    async def action(self, n):
        for i in range(n):
            await asyncio.sleep(0)
            yield i


class Wait(Action):
    name = "wait"
    seen: list[str] = []

    async def action(self, data, context):
        try:
            await asyncio.sleep(data)
            return "slept"
        except asyncio.CancelledError:
            Wait.seen.append("cancelled" if context.cancelled else "?")
            raise


class Meta(Action):
    name = "meta"

    async def action(self, data, context):
        return {"metadata": context.metadata, "left": context.time_left()}


class Total(Action):
    name = "total"

    async def action(self, items):
        total = 0
        async for item in items:
            total += item
        return total


class Boom(Action):
    name = "boom"

    async def action(self, data):
        error = LookupError("missing")
        error.key = data  # type: ignore[attr-defined]
        raise error


def run(main: Any, **server_options: Any) -> Any:
    async def wrapper() -> Any:
        server = Server("127.0.0.1", 0, **server_options)
        for action in (Echo(), Ticks(), Wait(), Meta(), Total(), Boom()):
            server.add_action(action)
        await server.start()
        try:
            return await main(server.port)
        finally:
            await server.shutdown()

    return asyncio.run(wrapper())


def test_import_isock_then_isock_aio() -> None:
    assert isock.aio.Client is Client


def test_many_calls_in_flight_on_one_connection() -> None:
    async def main(port: int) -> list[int]:
        async with Client("127.0.0.1", port) as client:
            return await asyncio.gather(*(client.run_action("echo", i) for i in range(500)))

    assert run(main) == list(range(500))


def test_async_generators_stream_and_async_iterables_upload() -> None:
    async def numbers():
        for i in range(300):
            yield i

    async def main(port: int) -> tuple[list[int], int]:
        async with Client("127.0.0.1", port) as client:
            items = [item async for item in client.stream("ticks", 2000)]
            return items, await client.run_action(Total, numbers())

    items, total = run(main)
    assert items == list(range(2000)) and total == sum(range(300))


def test_errors_carry_code_name_and_fields() -> None:
    async def main(port: int) -> RemoteError:
        async with Client("127.0.0.1", port) as client:
            with pytest.raises(RemoteError) as caught:
                await client.run_action("boom", "k1")
            return caught.value

    error = run(main)
    assert (error.code, error.remote_name, str(error), error.fields) == ("ACTION_FAILED", "LookupError", "missing", {"key": "k1"})


def test_cancelling_a_task_cancels_the_handler() -> None:
    Wait.seen.clear()

    async def main(port: int) -> None:
        async with Client("127.0.0.1", port) as client:
            task = asyncio.ensure_future(client.run_action("wait", 30))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(100):
                if Wait.seen:
                    break
                await asyncio.sleep(0.02)
            assert await client.run_action("echo", "after") == "after"

    run(main)
    assert Wait.seen == ["cancelled"]


def test_a_timeout_raises_timeout_and_reaches_the_handler() -> None:
    Wait.seen.clear()

    async def main(port: int) -> float:
        async with Client("127.0.0.1", port, timeout=0.3) as client:
            started = time.monotonic()
            with pytest.raises(IsockError) as caught:
                await client.run_action("wait", 30)
            assert caught.value.code == "TIMEOUT"
            elapsed = time.monotonic() - started
            for _ in range(100):
                if Wait.seen:
                    break
                await asyncio.sleep(0.02)
            return elapsed

    assert run(main) < 2
    assert Wait.seen == ["cancelled"]


def test_context_has_metadata_and_deadline() -> None:
    async def main(port: int) -> Any:
        async with Client("127.0.0.1", port) as client:
            return await client.run_action("meta", timeout=10, metadata={"Trace": "abc"})

    found = run(main)
    assert found["metadata"] == {"trace": "abc"}
    assert 8 < found["left"] <= 10


def test_a_late_server_is_reached_with_retry() -> None:
    async def main() -> str:
        server = Server("127.0.0.1", 0)
        server.add_action(Echo())
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server.port = port

        async def later() -> None:
            await asyncio.sleep(1.0)
            await server.start()

        starting = asyncio.ensure_future(later())
        try:
            async with Client("127.0.0.1", port, retry=12) as client:
                return await client.run_action("echo", "late")
        finally:
            await starting
            await server.shutdown()

    assert asyncio.run(main()) == "late"


def test_secret_and_tls() -> None:
    async def main(port: int) -> str:
        async with Client("localhost", port, secret=b"key", tls=client_tls()) as client:
            answer = await client.run_action("echo", "safe")
        async with Client("localhost", port, secret=b"other", tls=client_tls()) as client:
            with pytest.raises(IsockError) as caught:
                await client.run_action("echo", "x")
            assert caught.value.code == "UNAUTHORIZED"
        return answer

    assert run(main, secret=b"key", tls=server_tls()) == "safe"


def test_a_request_over_max_frame_size_fails_locally() -> None:
    async def main(port: int) -> None:
        async with Client("127.0.0.1", port) as client:
            with pytest.raises(IsockError) as caught:
                await client.run_action("echo", b"x" * 10_000)
            assert caught.value.code == "FRAME_TOO_LARGE"
            assert await client.run_action("echo", "small") == "small"

    run(main, max_frame_size=4096)


def test_serve_forever_ends_at_shutdown() -> None:
    async def main() -> None:
        server = Server("127.0.0.1", 0)
        server.add_action(Echo())
        serving = asyncio.ensure_future(server.serve_forever())
        await asyncio.sleep(0.1)
        async with Client("127.0.0.1", server.port) as client:
            assert await client.run_action("echo", 1) == 1
        await server.shutdown()
        await asyncio.wait_for(serving, 5)

    asyncio.run(main())
