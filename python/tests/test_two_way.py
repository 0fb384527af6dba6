"""Two-way calls: a Python client offers actions its server calls back, and a Python server's
handlers call the actions of the client that called them (``context.peer``)."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest

import isock
from isock import Action, RemoteError
from isock import aio

from conftest import TsProcess, serving


class Confirm(Action):
    """The client's action: a question that ends with "?" is confirmed."""

    name = "confirm"
    asked: list[str] = []

    def action(self, question):
        Confirm.asked.append(question)
        if question == "explode?":
            raise ValueError("the client refuses to answer")
        return question.endswith("?")


class AsyncConfirm(Action):
    name = "confirm"

    async def action(self, question):
        await asyncio.sleep(0)
        return question.endswith("?")


class Remove(Action):
    """The server's action, asking its caller first (an async handler)."""

    name = "remove"

    async def action(self, path, context):
        sure = await context.peer.run_action("confirm", f"Delete {path}?", timeout=10)
        return "deleted" if sure else "kept"


class RemoveInThread(Action):
    """The same from a plain handler, in one of the server's threads."""

    name = "removeInThread"

    def action(self, path, context):
        sure = context.peer.run_action_sync("confirm", f"Delete {path}?", timeout=10)
        return "deleted" if sure else "kept"


class AskTwice(Action):
    name = "askTwice"

    async def action(self, data, context):
        answers = await asyncio.gather(*(context.peer.run_action("confirm", q) for q in data))
        return answers


def test_a_sync_client_answers_a_deno_server_that_calls_back(deno_server: TsProcess) -> None:
    with isock.Client("127.0.0.1", deno_server.port, timeout=10) as client:
        client.add_action(Confirm())
        assert client.runAction("askPeer", "Delete /tmp/a?") == {"question": "Delete /tmp/a?", "answer": True}
        assert client.runAction("askPeer", "no question") == {"question": "no question", "answer": False}
        with pytest.raises(RemoteError) as caught:
            client.runAction("askPeer", "explode?")
        assert "the client refuses to answer" in str(caught.value)
        assert client.runAction("echo", "still usable") == "still usable"


def test_an_asyncio_client_answers_a_deno_server_that_calls_back(deno_server: TsProcess) -> None:
    async def main() -> list[Any]:
        async with aio.Client("127.0.0.1", deno_server.port, timeout=10) as client:
            client.add_action(AsyncConfirm())
            return await asyncio.gather(*(client.run_action("askPeer", f"q{i}?") for i in range(20)))

    answers = asyncio.run(main())
    assert answers == [{"question": f"q{i}?", "answer": True} for i in range(20)]


def test_a_client_that_offers_nothing_is_answered_unknown_action(deno_server: TsProcess) -> None:
    with isock.Client("127.0.0.1", deno_server.port, timeout=10) as client:
        with pytest.raises(RemoteError) as caught:
            client.runAction("askPeer", "anyone?")
        assert "confirm" in str(caught.value)


@pytest.fixture
def python_server() -> Iterator[isock.Server]:
    server = isock.Server("127.0.0.1", 0)
    for action in (Remove(), RemoveInThread(), AskTwice()):
        server.addAction(action)
    with serving(server):
        yield server


@pytest.mark.parametrize("action", ["remove", "removeInThread"])
def test_a_python_server_calls_its_python_client_back(python_server: isock.Server, action: str) -> None:
    with isock.Client("127.0.0.1", python_server.port, timeout=10) as client:
        client.add_action(Confirm())
        assert client.runAction(action, "/tmp/old.log") == "deleted"
        assert client.runAction("askTwice", ["a?", "b"]) == [True, False]


def test_a_python_client_without_the_action_fails_the_server_handler(python_server: isock.Server) -> None:
    with isock.Client("127.0.0.1", python_server.port, timeout=10) as client:
        with pytest.raises(RemoteError) as caught:
            client.runAction("remove", "/x")
        assert caught.value.remote_name == "RemoteError" and "confirm" in str(caught.value)


def test_an_asyncio_server_pushes_to_every_connected_client() -> None:
    async def main() -> tuple[list[Any], list[list[str]]]:
        seen: list[list[str]] = [[], []]

        def make(index: int) -> Any:
            def notify(message):
                seen[index].append(message)
                return index

            return notify

        async with aio.Server("127.0.0.1", 0) as server:
            clients = [aio.Client("127.0.0.1", server.port, timeout=5) for _ in range(2)]
            for index, client in enumerate(clients):
                client.add_action("notify", make(index))
                await client.connect()
            for _ in range(100):
                if len(server.peers) == 2:
                    break
                await asyncio.sleep(0.02)
            answers = sorted(await asyncio.gather(*(peer.run_action("notify", "hello") for peer in server.peers)))
            for client in clients:
                await client.close()
            return answers, seen

    answers, seen = asyncio.run(main())
    assert answers == [0, 1]
    assert seen == [["hello"], ["hello"]]


def test_run_action_sync_in_the_event_loop_is_refused() -> None:
    class Wrong(Action):
        name = "wrong"

        async def action(self, data, context):
            try:
                context.peer.run_action_sync("confirm", "x?")
            except isock.IsockError as error:
                return error.code

    async def main() -> Any:
        async with aio.Server("127.0.0.1", 0) as server:
            server.add_action(Wrong())
            async with aio.Client("127.0.0.1", server.port, timeout=5) as client:
                client.add_action(AsyncConfirm())
                return await client.run_action("wrong")

    assert asyncio.run(main()) == "INVALID_ARGUMENT"
