"""The Python server with Python clients: context, cancel, limits, reflection, and bad input.

A hostile peer gets its connection closed with a goodbye, and other clients go on being served;
a Python client facing a hostile server gets a typed error, never a hang.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Any, Callable, Iterator

import msgpack
import pytest

import isock
from isock import Action, ClientException, IsockError, RemoteError

from conftest import client_tls, server_tls


class Echo(Action):
    name = "echo"

    def action(self, data):
        return data


class Slow(Action):
    name = "slow"

    def action(self, data, context):
        context.cancel_event.wait(data)
        return "cancelled" if context.cancelled else "done"


class Numbers(Action):
    name = "numbers"
    closed: list[bool] = []

    def action(self, n):
        try:
            for i in range(n):
                yield i
        finally:
            Numbers.closed.append(True)


class Produced(Action):
    name = "produced"
    count = 0

    def action(self, n):
        Produced.count = 0
        for i in range(n):
            Produced.count += 1
            yield i


class Deadline(Action):
    name = "deadline"

    def action(self, data, context):
        return context.time_left()


@pytest.fixture
def serve() -> Iterator[Callable[..., isock.Server]]:
    """Starts a sync Python server in a thread (stopped at the end)."""
    running: list[tuple[isock.Server, threading.Thread]] = []

    def start(**options: Any) -> isock.Server:
        server = isock.Server("127.0.0.1", 0, **options)
        for action in (Echo(), Slow(), Numbers(), Deadline(), Produced()):
            server.addAction(action)
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.shutdown(2)
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()


# -- a raw peer ---------------------------------------------------------------


class Raw:
    """A socket speaking frames by hand."""

    def __init__(self, port: int, hello: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if hello:
            self.frame(b"isock\x01" + msgpack.packb({"maxFrameSize": 1 << 20}))
            self.server_hello = self.read()

    def frame(self, body: bytes) -> None:
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def send(self, message: list[Any]) -> None:
        self.frame(msgpack.packb(message))

    def read(self) -> bytes | None:
        header = self._exactly(4)
        if header is None:
            return None
        return self._exactly(struct.unpack(">I", header)[0])

    def message(self) -> Any:
        body = self.read()
        return None if body is None else msgpack.unpackb(body, strict_map_key=False)

    def _exactly(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def goodbye_code(self) -> str | None:
        """Reads to the end; the code of the goodbye found (then the socket must close)."""
        code = None
        while True:
            message = self.message()
            if message is None:
                return code
            if message[0] == 6 and len(message) > 1:
                code = message[1]["code"]

    def close(self) -> None:
        self.sock.close()


def still_serves(port: int) -> None:
    with isock.Client("127.0.0.1", port) as client:
        assert client.runAction("echo", "still here") == "still here"


# -- behaviour ------------------------------------------------------------------


def test_context_manager_and_both_spellings(serve) -> None:
    server = serve()
    with isock.Client("127.0.0.1", server.port) as client:
        assert client.run_action(Echo, [1, 2]) == [1, 2]
        assert client.runAction("echo") is None


def test_a_timeout_cancels_the_handler_and_the_client_stays_usable(serve) -> None:
    server = serve()
    with isock.Client("127.0.0.1", server.port) as client:
        started = time.monotonic()
        with pytest.raises(IsockError) as caught:
            client.runAction(Slow, 10, timeout=0.3)
        assert caught.value.code == "TIMEOUT"
        assert time.monotonic() - started < 2
        assert client.runAction(Echo, "after") == "after"
        left = client.runAction(Deadline, timeout=5)
        assert 3 < left <= 5


def test_leaving_a_stream_early_closes_the_generator(serve) -> None:
    server = serve()
    Numbers.closed.clear()
    with isock.Client("127.0.0.1", server.port) as client:
        for item in client.stream(Numbers, 1_000_000):
            if item == 5:
                break
        deadline = time.monotonic() + 5
        while not Numbers.closed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert Numbers.closed
        assert client.runAction(Echo, 1) == 1


@pytest.mark.parametrize("window", [16, None])
def test_a_slow_reader_holds_the_python_generator_to_its_window(serve, window) -> None:
    server = serve()
    with isock.Client("127.0.0.1", server.port) as client:
        items = client.stream(Produced, 5000, window=window)
        assert next(items) == 0
        time.sleep(0.5)
        assert Produced.count <= 1 + 2 * (window or 1024), Produced.count
        assert list(items) == list(range(1, 5000))


def test_run_action_on_a_streaming_action_is_stream_required(serve) -> None:
    server = serve()
    with isock.Client("127.0.0.1", server.port) as client:
        with pytest.raises(RemoteError) as caught:
            client.runAction(Numbers, 3)
        assert caught.value.code == "STREAM_REQUIRED"
        assert list(client.stream(Echo, "one")) == ["one"]


def test_describe_lists_the_actions(serve) -> None:
    server = serve()
    with isock.Client("127.0.0.1", server.port) as client:
        actions = {action["name"]: action for action in client.describe()["actions"]}
    assert list(actions) == ["echo", "slow", "numbers", "deadline", "produced"]
    assert actions["numbers"]["streams"] is True and actions["echo"]["streams"] is False


def test_secret_and_tls_together(serve) -> None:
    server = serve(secret="k", tls=server_tls())
    with isock.Client("localhost", server.port, secret="k", tls=client_tls()) as client:
        assert client.runAction(Echo, "both") == "both"
    with isock.Client("localhost", server.port, secret="nope", tls=client_tls()) as client:
        with pytest.raises(IsockError) as caught:
            client.runAction(Echo, "x")
        assert caught.value.code == "UNAUTHORIZED"


def test_more_requests_than_max_in_flight_are_overloaded(serve) -> None:
    server = serve(max_in_flight=2)
    raw = Raw(server.port)
    for ident in (1, 2, 3):
        raw.send([0, ident, "slow", 0.5])
    assert raw.message() == [2, 3, {"code": "OVERLOADED", "name": "RemoteError", "message": "too many requests in flight on this connection"}]
    raw.close()


def test_connections_over_max_connections_are_refused_with_overloaded(serve) -> None:
    server = serve(max_connections=1)
    first = Raw(server.port)
    second = Raw(server.port, hello=False)
    assert second.read()[:5] == b"isock"
    assert second.goodbye_code() == "OVERLOADED"
    with isock.Client("127.0.0.1", server.port, retry=1) as client:
        with pytest.raises(ClientException) as caught:
            client.runAction("echo", "x")
    assert caught.value.code == "OVERLOADED"
    first.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            still_serves(server.port)
            break
        except ClientException:
            time.sleep(0.05)
    else:
        still_serves(server.port)


def test_shutdown_lets_running_calls_finish(serve) -> None:
    server = serve()
    client = isock.Client("127.0.0.1", server.port)
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(client.runAction(Slow, 0.5)))
    thread.start()
    time.sleep(0.2)
    server.shutdown(5)
    thread.join(5)
    assert answers == ["done"]
    client.close()


# -- bad input --------------------------------------------------------------------


def test_garbage_gets_a_goodbye_and_the_server_serves_others(serve) -> None:
    server = serve()
    raw = Raw(server.port, hello=False)
    raw.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw.read()[:5] == b"isock"  # its hello
    assert raw.goodbye_code() == "PROTOCOL"
    still_serves(server.port)


def test_a_frame_header_claiming_2_gib_is_frame_too_large(serve) -> None:
    server = serve()
    raw = Raw(server.port)
    raw.sock.sendall(struct.pack(">I", 2**31))
    assert raw.goodbye_code() == "FRAME_TOO_LARGE"
    still_serves(server.port)


def test_a_silent_peer_is_closed_after_the_handshake_timeout(serve) -> None:
    server = serve(handshake_timeout=0.5)
    raw = Raw(server.port, hello=False)
    started = time.monotonic()
    assert raw.read()[:5] == b"isock"
    assert raw.read() is None  # closed
    assert time.monotonic() - started < 3
    still_serves(server.port)


def test_a_peer_silent_after_its_hello_is_closed_after_three_heartbeats(serve) -> None:
    server = serve(heartbeat=0.2)
    raw = Raw(server.port)
    started = time.monotonic()
    while raw.message() is not None:
        pass  # pings, then the end
    assert time.monotonic() - started < 3


def test_a_decode_bomb_in_the_data_is_invalid_request_and_the_connection_lives(serve) -> None:
    server = serve()
    raw = Raw(server.port)
    count = 1_000_000
    bomb = b"\xdd" + count.to_bytes(4, "big") + b"\x80" * count
    raw.frame(b"\x94\x00\x01\xa4echo" + bomb)
    answer = raw.message()
    assert answer[:2] == [2, 1] and answer[2]["code"] == "INVALID_REQUEST"
    raw.send([0, 2, "echo", "alive"])
    assert raw.message() == [1, 2, "alive"]
    raw.close()


def test_an_unknown_extension_in_the_data_is_invalid_request(serve) -> None:
    server = serve()
    raw = Raw(server.port)
    raw.frame(b"\x94\x00\x01\xa4echo\xd4\x1f\x00")
    answer = raw.message()
    assert answer[:2] == [2, 1] and answer[2]["code"] == "INVALID_REQUEST"
    raw.close()


def test_reusing_an_id_in_flight_is_a_protocol_breach(serve) -> None:
    server = serve()
    raw = Raw(server.port)
    raw.send([0, 1, "slow", 5])
    raw.send([0, 1, "slow", 5])
    assert raw.goodbye_code() == "PROTOCOL"
    still_serves(server.port)


def test_credit_beyond_the_window_is_a_protocol_breach(serve) -> None:
    server = serve()
    raw = Raw(server.port)
    raw.send([0, 1, "numbers", 1_000_000, {"stream": 4}])
    raw.send([11, 1, 1000])
    assert raw.goodbye_code() == "PROTOCOL"
    still_serves(server.port)


def test_a_window_above_65536_is_a_protocol_breach(serve) -> None:
    server = serve()
    raw = Raw(server.port)
    raw.send([0, 1, "numbers", 3, {"stream": 65537}])
    assert raw.goodbye_code() == "PROTOCOL"


def test_a_malformed_message_is_a_protocol_breach(serve) -> None:
    server = serve()
    for message in ([99, 1], [0, "x", "echo"], [0, 1, 7], [11, 1], "not an array"):
        raw = Raw(server.port)
        raw.send(message)  # type: ignore[arg-type]
        assert raw.goodbye_code() == "PROTOCOL", message
    still_serves(server.port)


def test_without_the_secret_nothing_runs(serve) -> None:
    server = serve(secret="k")
    raw = Raw(server.port)
    raw.send([0, 1, "echo", "sneak"])
    assert raw.goodbye_code() == "UNAUTHORIZED"
    raw = Raw(server.port)
    raw.sock.sendall(struct.pack(">I", 70_000))  # a large frame before authenticating
    assert raw.goodbye_code() == "FRAME_TOO_LARGE"
    for proof in (b"\x00" * 32, None):  # a wrong proof, none at all
        raw = Raw(server.port)
        raw.send([7, proof])
        assert raw.goodbye_code() == "UNAUTHORIZED"


# -- a hostile server ---------------------------------------------------------------


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[socket.socket], None]], int]]:
    """A server that runs ``behave(sock)`` for each connection."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(behave: Callable[[socket.socket], None]) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def accept() -> None:
            while True:
                try:
                    sock, _ = listener.accept()
                except OSError:
                    return
                try:
                    behave(sock)
                except OSError:
                    pass
                finally:
                    sock.close()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        threads.append(thread)
        return listener.getsockname()[1]

    yield start
    for listener in listeners:
        listener.close()
    for thread in threads:
        thread.join(5)


def hello_frame() -> bytes:
    body = b"isock\x01" + msgpack.packb({"maxFrameSize": 1 << 20})
    return struct.pack(">I", len(body)) + body


def call_fails(port: int, **options: Any) -> IsockError:
    started = time.monotonic()
    with isock.Client("127.0.0.1", port, retry=1, **options) as client:
        with pytest.raises(IsockError) as caught:
            client.runAction("echo", "x")
    assert time.monotonic() - started < 8
    return caught.value


def test_a_server_sending_garbage_is_a_typed_error(hostile) -> None:
    def behave(sock: socket.socket) -> None:
        sock.sendall(b"\x00\x00\x00\x05hello")
        time.sleep(1)

    assert call_fails(hostile(behave)).code == "PROTOCOL"


def test_a_server_claiming_a_huge_frame_is_frame_too_large(hostile) -> None:
    def behave(sock: socket.socket) -> None:
        sock.sendall(hello_frame() + struct.pack(">I", 2**31))
        time.sleep(1)

    assert call_fails(hostile(behave)).code == "FRAME_TOO_LARGE"


def test_a_silent_server_times_out(hostile) -> None:
    def behave(sock: socket.socket) -> None:
        time.sleep(3)

    assert call_fails(hostile(behave), connect_timeout=0.5).code == "CONNECT_FAILED"


def test_a_server_that_never_answers_is_dropped_after_three_heartbeats(hostile) -> None:
    def behave(sock: socket.socket) -> None:
        sock.sendall(hello_frame())
        time.sleep(4)

    error = call_fails(hostile(behave), heartbeat=0.3)
    assert isinstance(error, ClientException) and error.code == "CONNECTION_CLOSED"


def test_a_malformed_error_object_is_a_protocol_error(hostile) -> None:
    def behave(sock: socket.socket) -> None:
        sock.sendall(hello_frame())
        sock.recv(65536)
        body = msgpack.packb([2, 1, {"code": 5}])
        sock.sendall(struct.pack(">I", len(body)) + body)
        time.sleep(1)

    assert call_fails(hostile(behave)).code == "PROTOCOL"


class Failing(Action):
    name = "failing"

    def action(self, n):
        for i in range(n):
            yield i
        raise ValueError("after the items")


def test_a_generator_that_raises_ends_its_stream_with_the_error_after_its_items(serve) -> None:
    server = serve()
    server.addAction(Failing())
    with isock.Client("127.0.0.1", server.port) as client:
        seen: list[int] = []
        with pytest.raises(RemoteError) as caught:
            for item in client.stream("failing", 100):
                seen.append(item)
        assert seen == list(range(100))
        assert (caught.value.code, caught.value.remote_name, str(caught.value)) == ("ACTION_FAILED", "ValueError", "after the items")
        assert list(client.stream(Numbers, 10_000)) == list(range(10_000))
