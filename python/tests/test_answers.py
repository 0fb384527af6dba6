"""What goes with an answer: response metadata (PROTOCOL.md section 4.11), input checks that
refuse bad data with ``INVALID_INPUT``, and batches of an async generator's items (4.12)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Iterator

import pytest

import isock
from isock import Action, RemoteError
from isock import aio

from conftest import TsProcess, serving
from test_python_server import Raw


class Served(Action):
    name = "served"

    def action(self, data, context):
        context.response_metadata["served-by"] = "python"
        context.response_metadata["tenant"] = context.metadata.get("tenant", "-")
        return data


class ServedStream(Action):
    name = "servedStream"

    async def action(self, n, context):
        context.response_metadata["items"] = str(n)
        for i in range(n):
            yield i


class SetPoint(Action):
    name = "setPoint"

    def input(self, data):
        issues = []
        if not isinstance(data, dict):
            return ["the data is a map"]
        if not isinstance(data.get("valve"), str):
            issues.append({"message": "a valve is named", "path": ["valve"]})
        percent = data.get("percent")
        if not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            issues.append({"message": "a percent is from 0 to 100", "path": ["percent"]})
        return issues

    def action(self, data):
        return f"{data['valve']} at {data['percent']}%"


def positive(value):
    if not isinstance(value, int) or value <= 0:
        raise ValueError("a positive integer")


class Ticks(Action):
    """Mostly ready at once: waits every 100 items."""

    name = "ticks"
    closed: list[bool] = []

    async def action(self, n):
        try:
            for i in range(n):
                if i % 100 == 50:
                    await asyncio.sleep(0.005)
                yield i
        finally:
            Ticks.closed.append(True)


class Breaks(Action):
    name = "breaks"

    async def action(self, n):
        for i in range(n):
            yield i
        raise KeyError("after the items")


@pytest.fixture
def server() -> Iterator[isock.Server]:
    found = isock.Server("127.0.0.1", 0)
    for action in (Served(), ServedStream(), SetPoint(), Ticks(), Breaks()):
        found.addAction(action)
    found.addAction("double", lambda n: 2 * n, input=positive)
    with serving(found):
        yield found


# -- response metadata ----------------------------------------------------------


def test_response_metadata_from_a_deno_server(deno_server: TsProcess) -> None:
    seen: list[dict[str, str]] = []
    with isock.Client("127.0.0.1", deno_server.port, timeout=5) as client:
        assert client.runAction("responseMeta", "x", on_response_metadata=seen.append) == "x"
        assert client.runAction("echo", "no metadata", on_response_metadata=seen.append) == "no metadata"
    assert seen == [{"served-by": "typescript"}]


def test_response_metadata_from_a_python_server_on_calls_and_streams(server: isock.Server) -> None:
    seen: list[dict[str, str]] = []
    with isock.Client("127.0.0.1", server.port, timeout=5) as client:
        client.runAction("served", 1, metadata={"Tenant": "acme"}, on_response_metadata=seen.append)
        assert list(client.stream("servedStream", 3, on_response_metadata=seen.append)) == [0, 1, 2]
    assert seen == [{"served-by": "python", "tenant": "acme"}, {"items": "3"}]


def test_a_response_metadata_callback_that_raises_fails_its_call(server: isock.Server) -> None:
    def refuse(metadata: dict[str, str]) -> None:
        raise LookupError("not this server")

    async def main() -> Any:
        async with aio.Client("127.0.0.1", server.port, timeout=5) as client:
            with pytest.raises(LookupError):
                await client.run_action("served", 1, on_response_metadata=refuse)
            return await client.run_action("served", 2)

    assert asyncio.run(main()) == 2


# -- input checks ------------------------------------------------------------------


def test_an_input_check_refuses_bad_data_with_its_issues(server: isock.Server) -> None:
    with isock.Client("127.0.0.1", server.port, timeout=5) as client:
        assert client.runAction("setPoint", {"valve": "v1", "percent": 40}) == "v1 at 40%"
        with pytest.raises(RemoteError) as caught:
            client.runAction("setPoint", {"percent": 140})
        assert caught.value.code == "INVALID_INPUT"
        assert caught.value.issues == [
            {"message": "a valve is named", "path": ["valve"]},
            {"message": "a percent is from 0 to 100", "path": ["percent"]},
        ]
        with pytest.raises(RemoteError) as caught:
            client.runAction("double", -3)
        assert (caught.value.code, caught.value.issues) == ("INVALID_INPUT", [{"message": "a positive integer", "path": []}])
        assert client.runAction("double", 21) == 42


def test_an_action_that_checks_its_input_takes_no_upload(server: isock.Server) -> None:
    with isock.Client("127.0.0.1", server.port, timeout=5) as client:
        with pytest.raises(RemoteError) as caught:
            client.runAction("double", iter([1, 2]))
        assert caught.value.code == "INVALID_INPUT"
        listed = {action["name"]: action["inputStream"] for action in client.describe()["actions"]}
        assert listed["double"] is False and listed["setPoint"] is False and listed["served"] is True


# -- batches from async generators -----------------------------------------------


def read_stream(raw: Raw, ident: int) -> tuple[list[int], list[Any]]:
    """The kinds of the stream's messages, and its items, up to its end or error."""
    kinds: list[int] = []
    items: list[Any] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = raw.message()
        assert message is not None, "the server closed the connection"
        if message[0] in (4, 5) or message[1] != ident:
            continue
        kinds.append(message[0])
        if message[0] == 9:
            items.append(message[2])
        elif message[0] == 17:
            items.extend(message[2])
        else:
            return kinds, items
    raise AssertionError("the stream did not end")


def batch_peer(port: int) -> Raw:
    raw = Raw(port, hello=False)
    raw.frame(b"isock\x01" + __import__("msgpack").packb({"maxFrameSize": 1 << 20, "batch": True}))
    raw.server_hello = raw.read()
    return raw


def test_an_async_generator_s_ready_items_go_in_batches_to_a_batch_peer(server: isock.Server) -> None:
    raw = batch_peer(server.port)
    try:
        raw.send([0, 1, "ticks", 500, {"stream": 1024, "streamBytes": 1 << 20}])
        kinds, items = read_stream(raw, 1)
        assert items == list(range(500))
        assert kinds[0] == 9 and kinds[-1] == 10  # the first item alone; the end
        assert 17 in kinds and len(kinds) < 50  # the rest in a few messages
        raw.send([0, 2, "breaks", 300, {"stream": 1024, "streamBytes": 1 << 20}])
        kinds, items = read_stream(raw, 2)
        assert items == list(range(300)) and kinds[-1] == 2  # every item, then the error
    finally:
        raw.close()


def test_a_peer_without_batch_gets_one_item_a_message(server: isock.Server) -> None:
    raw = Raw(server.port)
    try:
        raw.send([0, 1, "ticks", 200, {"stream": 1024}])
        kinds, items = read_stream(raw, 1)
        assert items == list(range(200)) and set(kinds) == {9, 10}
    finally:
        raw.close()


def test_leaving_a_batched_async_stream_early_closes_its_generator(server: isock.Server) -> None:
    Ticks.closed.clear()
    with isock.Client("127.0.0.1", server.port, timeout=5) as client:
        for item in client.stream("ticks", 100_000):
            if item == 120:
                break
        for _ in range(200):
            if Ticks.closed:
                break
            time.sleep(0.01)
        assert Ticks.closed == [True]
        assert list(client.stream("ticks", 1000)) == list(range(1000))
