"""The Python client against TypeScript servers on Deno, Node and Bun (python/tests/ts/server.ts)."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from typing import Iterator

import pytest

import isock
from isock import ClientException, ErrorValue, IsockError, RemoteError
from isock import aio

from conftest import TS, TsProcess, client_tls, free_port

RUNTIMES = ["deno", "node", "bun"]
UTC = datetime.timezone.utc


@pytest.fixture(scope="module", params=RUNTIMES)
def server(request: pytest.FixtureRequest) -> Iterator[TsProcess]:
    process = TsProcess(request.param, TS / "server.ts", [])
    yield process
    assert process.stop() == 0, process.output()


@pytest.fixture
def client(server: TsProcess) -> Iterator[isock.Client]:
    with isock.Client("127.0.0.1", server.port, retry=3) as found:
        yield found


def test_rich_data_from_typescript(client: isock.Client) -> None:
    found = client.runAction("rich")
    assert found["small"] == 5 and found["big"] == 2**70 and found["negative"] == -(2**64)
    assert found["safe"] == 2**53 - 1 and found["fraction"] == 0.5
    assert found["date"] == datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert found["map"] == {1: "one", "two": 2}
    assert found["set"] == {1, 2, 3}
    assert found["bytes"] == b"\x01\x02\x03"
    assert found["undef"] is None and found["nil"] is None
    assert isinstance(found["error"], ErrorValue)
    assert (found["error"].name, str(found["error"]), found["error"].fields["limit"]) == ("RangeError", "out of range", 3)
    assert found["list"] == [1, "a", True]


def test_rich_data_to_typescript(client: isock.Client) -> None:
    error = ValueError("bad")
    error.status = 400  # type: ignore[attr-defined]
    sent = [
        1,
        2**53 - 1,
        2**53,
        -(2**70),
        1.5,
        None,
        {"a": 1},
        {1: "x"},
        {7},
        b"\x09",
        datetime.datetime(2026, 1, 2, tzinfo=UTC),
        error,
        (1, 2),
    ]
    kinds = client.runAction("kinds", sent)
    assert kinds == [
        "Array",
        [
            ["number", 1],
            ["number", 2**53 - 1],
            ["bigint", str(2**53)],
            ["bigint", str(-(2**70))],
            ["number", 1.5],
            "null",
            ["Object", {"a": ["number", 1]}],
            ["Map", [[["number", 1], ["string", "x"]]]],
            ["Set", [["number", 7]]],
            ["Uint8Array", [9]],
            ["Date", "2026-01-02T00:00:00.000Z"],
            ["Error", "ValueError", "bad", {"name": "ValueError", "status": 400}],
            ["Array", [["number", 1], ["number", 2]]],
        ],
    ]


def test_large_values_both_ways_in_fragments(client: isock.Client) -> None:
    big = bytes(range(256)) * 12_000  # 3 MiB: the TypeScript server answers in fragments
    assert client.runAction("echo", big) == big
    assert client.runAction("echo", "small after") == "small after"


def test_an_error_arrives_with_its_name_message_code_and_fields(client: isock.Client) -> None:
    with pytest.raises(RemoteError) as caught:
        client.runAction("fail", "no such page")
    error = caught.value
    assert isinstance(error, IsockError)
    assert (error.code, error.remote_name, str(error)) == ("ACTION_FAILED", "HttpError", "no such page")
    assert error.fields == {"status": 404, "detail": {"path": "/missing"}}
    assert client.runAction("echo", "still usable") == "still usable"


def test_an_unknown_action_raises_unknown_action(client: isock.Client) -> None:
    with pytest.raises(RemoteError) as caught:
        client.runAction("nope")
    assert caught.value.code == "UNKNOWN_ACTION"


def test_a_stream_of_10000_items_arrives_in_order(client: isock.Client) -> None:
    assert list(client.stream("count", 10_000)) == list(range(10_000))
    assert client.runAction("echo", 1) == 1


@pytest.mark.parametrize("window", [16, None])
def test_a_slow_reader_holds_the_generator_to_its_window(client: isock.Client, window: int | None) -> None:
    items = client.stream("counted", 5000, window=window)
    assert next(items) == 0
    time.sleep(0.5)
    produced = client.runAction("produced")
    limit = 1 + 2 * (window or 1024)  # the window, plus what the reader holds
    assert produced <= limit, produced
    assert list(items) == list(range(1, 5000))
    assert client.runAction("produced") == 5000


def test_leaving_a_stream_early_cancels_it(client: isock.Client) -> None:
    for item in client.stream("count", 1_000_000):
        if item == 3:
            break
    assert client.runAction("echo", "after") == "after"


def test_an_upload_reaches_the_handler(client: isock.Client) -> None:
    assert client.runAction("sum", iter(range(10_000))) == sum(range(10_000))

    def slow() -> Iterator[int]:
        for i in range(40):
            yield i

    assert client.runAction("sum", slow()) == sum(range(40))


def test_a_timeout_reaches_the_handlers_signal(client: isock.Client) -> None:
    before = client.runAction("aborts")
    started = time.monotonic()
    with pytest.raises(IsockError) as caught:
        client.runAction("waitAbort", timeout=0.3)
    assert caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 1.3
    deadline = time.monotonic() + 5
    while client.runAction("aborts") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.runAction("aborts") == before + 1
    assert client.runAction("echo", "after a timeout") == "after a timeout"


def test_metadata_reaches_the_handler(client: isock.Client) -> None:
    assert client.runAction("metadata", metadata={"tenant": "acme", "x-id": "1"}) == {"tenant": "acme", "x-id": "1"}
    with pytest.raises(IsockError) as caught:
        client.runAction("metadata", metadata={"bad key": "x"})
    assert caught.value.code == "INVALID_METADATA"


def test_describe_lists_the_typescript_actions(client: isock.Client) -> None:
    actions = {action["name"]: action for action in client.describe()["actions"]}
    assert actions["count"]["streams"] is True
    assert actions["echo"]["streams"] is False


def test_256_calls_in_flight_on_one_connection(server: TsProcess) -> None:
    async def main() -> list[int]:
        async with aio.Client("127.0.0.1", server.port) as client:
            return await asyncio.gather(*(client.run_action("sleep", i % 20) for i in range(256)))

    assert asyncio.run(main()) == [i % 20 for i in range(256)]


def test_threads_sharing_a_sync_client_each_get_their_own_answers(client: isock.Client) -> None:
    # Small calls, calls of 3 MiB (more than the socket takes at once) and a stream, from
    # threads at the same time on one connection: every answer is its own call's, whole.
    big = bytes(range(256)) * (3 * 4096)
    failures: list[BaseException] = []
    streamed: list[list[int]] = []

    def caller(index: int) -> None:
        try:
            for step in range(60):
                if index < 2 and step % 10 == 0:
                    assert client.runAction("echo", [index, step, big], timeout=20) == [index, step, big]
                else:
                    assert client.runAction("echo", {"thread": index, "step": step}, timeout=20) == {"thread": index, "step": step}
        except BaseException as error:
            failures.append(error)

    def streamer() -> None:
        try:
            streamed.append(list(client.stream("count", 3000)))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=caller, args=(index,)) for index in range(6)]
    threads.append(threading.Thread(target=streamer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert streamed == [list(range(3000))]
    assert client.runAction("echo", "after") == "after"


def test_cancelling_a_task_sends_a_cancel(server: TsProcess) -> None:
    async def main() -> tuple[int, int]:
        async with aio.Client("127.0.0.1", server.port) as client:
            before = await client.run_action("aborts")
            task = asyncio.ensure_future(client.run_action("waitAbort"))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(100):
                if await client.run_action("aborts") > before:
                    break
                await asyncio.sleep(0.05)
            return before, await client.run_action("aborts")

    before, after = asyncio.run(main())
    assert after == before + 1


def test_aio_streams_and_uploads(server: TsProcess) -> None:
    async def numbers():
        for i in range(100):
            yield i

    async def main() -> tuple[list[int], int]:
        async with aio.Client("127.0.0.1", server.port) as client:
            items = [item async for item in client.stream("count", 500)]
            return items, await client.run_action("sum", numbers())

    items, total = asyncio.run(main())
    assert items == list(range(500)) and total == sum(range(100))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_right_and_wrong_secrets(ts_server, runtime: str) -> None:
    server = ts_server(runtime, "--secret", "s3cret")
    with isock.Client("127.0.0.1", server.port, secret="s3cret") as client:
        assert client.runAction("echo", "in") == "in"
    for secret in ("wrong", None):
        started = time.monotonic()
        with isock.Client("127.0.0.1", server.port, secret=secret) as client:
            with pytest.raises(IsockError) as caught:
                client.runAction("echo", "x")
        assert caught.value.code == "UNAUTHORIZED", caught.value
        assert time.monotonic() - started < 5


def test_a_server_that_cannot_prove_the_secret_is_refused(ts_server) -> None:
    server = ts_server("deno")  # no secret: it answers [8, nil]
    with isock.Client("127.0.0.1", server.port, secret="s3cret") as client:
        with pytest.raises(IsockError) as caught:
            client.runAction("echo", "x")
    assert caught.value.code == "UNAUTHORIZED"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tls_with_the_test_certificate(ts_server, runtime: str) -> None:
    server = ts_server(runtime, "--tls")
    with isock.Client("localhost", server.port, tls=client_tls()) as client:
        assert client.runAction("echo", "over TLS") == "over TLS"
    # Without trusting the certificate, the client cannot connect.
    import ssl

    started = time.monotonic()
    with isock.Client("localhost", server.port, retry=5, tls=ssl.create_default_context()) as client:
        with pytest.raises(ClientException) as caught:
            client.runAction("echo", "x")
    assert caught.value.code == "TLS_FAILED"
    assert time.monotonic() - started < 1  # at once, not after the retries


def test_retry_reaches_a_server_that_starts_late(ts_server) -> None:
    port = free_port()
    started: list[TsProcess] = []

    def start_later() -> None:
        time.sleep(1.0)
        started.append(ts_server("deno", "--port", str(port)))

    thread = threading.Thread(target=start_later)
    thread.start()
    try:
        with isock.Client("127.0.0.1", port, retry=12) as client:
            assert client.runAction("echo", "late") == "late"
    finally:
        thread.join()


def test_no_server_raises_client_exception_after_the_retries() -> None:
    with isock.Client("127.0.0.1", free_port(), retry=2) as client:
        with pytest.raises(ClientException) as caught:
            client.runAction("echo")
    assert caught.value.code == "CONNECT_FAILED"
