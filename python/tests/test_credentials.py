"""Credentials on the client, ``authenticate`` on the server (PROTOCOL.md section 5), and Unix sockets."""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import Any, Callable, Iterator

import pytest

import isock
from isock import Action, IsockError
from isock import aio

from conftest import TsProcess, serving


class Whoami(Action):
    name = "whoami"

    def action(self, data, context):
        return {"identity": context.identity, "peer": context.peer.identity}


class Echo(Action):
    name = "echo"

    async def action(self, data):
        return data


def check_token(peer, credentials):
    return {"user": "ada", "host": peer.host} if credentials == "token-1" else None


async def check_token_later(peer, credentials):
    await asyncio.sleep(0.01)
    if credentials != "token-1":
        raise PermissionError("no")
    return {"user": "ada"}


@pytest.fixture
def deno_authenticating(ts_server: Callable[..., TsProcess]) -> TsProcess:
    return ts_server("deno", "--authenticate")


def test_credentials_reach_a_deno_server_s_authenticate(deno_authenticating: TsProcess) -> None:
    with isock.Client("127.0.0.1", deno_authenticating.port, credentials="token-1", timeout=5) as client:
        assert client.runAction("whoami") == {"user": "ada"}
    for credentials in ("token-2", None):
        with isock.Client("127.0.0.1", deno_authenticating.port, credentials=credentials, retry=1) as client:
            with pytest.raises(IsockError) as caught:
                client.runAction("whoami")
            assert caught.value.code == "UNAUTHORIZED"


@pytest.mark.parametrize("check", [check_token, check_token_later])
def test_a_python_server_checks_credentials_and_hands_the_identity_to_handlers(check: Any) -> None:
    server = isock.Server("127.0.0.1", 0, authenticate=check)
    server.addAction(Whoami())
    with serving(server):
        with isock.Client("127.0.0.1", server.port, credentials="token-1", timeout=5) as client:
            found = client.runAction("whoami")
            assert found["identity"]["user"] == "ada" and found["peer"] == found["identity"]
            assert client.runAction("whoami") == found  # the same connection, the same identity
        for credentials in ("token-2", None):
            with isock.Client("127.0.0.1", server.port, credentials=credentials, retry=1) as client:
                with pytest.raises(IsockError) as caught:
                    client.runAction("whoami")
                assert caught.value.code == "UNAUTHORIZED"


def test_credentials_and_a_secret_together() -> None:
    async def main() -> list[Any]:
        async with aio.Server("127.0.0.1", 0, secret="s3cret", authenticate=check_token) as server:
            server.add_action(Whoami())
            found = []
            async with aio.Client("127.0.0.1", server.port, secret="s3cret", credentials="token-1") as client:
                found.append((await client.run_action("whoami"))["identity"]["user"])
            for secret, credentials in (("wrong", "token-1"), ("s3cret", "wrong")):
                async with aio.Client("127.0.0.1", server.port, secret=secret, credentials=credentials, retry=1) as client:
                    try:
                        await client.run_action("whoami")
                    except IsockError as error:
                        found.append(error.code)
            return found

    assert asyncio.run(main()) == ["ada", "UNAUTHORIZED", "UNAUTHORIZED"]


@pytest.fixture
def socket_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield os.path.join(folder, "isock.sock")


def test_a_python_client_calls_a_deno_server_on_a_unix_socket(
    ts_server: Callable[..., TsProcess], socket_path: str
) -> None:
    process = ts_server("deno", "--path", socket_path)
    assert process.path == socket_path
    with isock.Client(path=socket_path, timeout=5) as client:
        assert client.runAction("echo", {"over": "unix"}) == {"over": "unix"}
        assert list(client.stream("count", 100)) == list(range(100))

    async def main() -> Any:
        async with aio.Client(path=socket_path, timeout=5) as client:
            return await client.run_action("echo", "async")

    assert asyncio.run(main()) == "async"


def test_python_peers_on_a_unix_socket(socket_path: str) -> None:
    server = isock.Server(path=socket_path)
    server.addAction(Echo())
    with serving(server):
        with isock.Client(path=socket_path, timeout=5) as client:
            assert client.runAction("echo", b"bytes") == b"bytes"
        with pytest.raises(IsockError) as caught:
            isock.Server(path=socket_path)
        assert caught.value.code == "ADDR_IN_USE"
    assert not os.path.exists(socket_path)

    async def main() -> Any:
        async with aio.Server(path=socket_path) as server:
            server.add_action(Echo())
            async with aio.Client(path=socket_path) as client:
                return await client.run_action("echo", "async")

    assert asyncio.run(main()) == "async"
    assert not os.path.exists(socket_path)


def test_a_client_needs_a_host_and_port_or_a_path() -> None:
    for options in ({"host": "127.0.0.1"}, {"path": "/tmp/x", "host": "127.0.0.1", "port": 1}, {}):
        with pytest.raises(IsockError) as caught:
            aio.Client(**options)
        assert caught.value.code == "INVALID_ARGUMENT"
