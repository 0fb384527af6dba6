"""One isock connection on asyncio: framing, the handshake, keepalive, and either side's calls.

A :class:`Connection` is an ``asyncio.Protocol``: bytes arrive in ``data_received``, are cut
into frames and handled at once, so a small call costs no task and no extra await. The
client side keeps the calls it made (:class:`OutCall`); the server side runs the requests it
receives as tasks (:class:`InCall`). Section numbers refer to PROTOCOL.md.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import inspect
import itertools
import os
import threading
import time
from concurrent.futures import Executor
from typing import Any, Callable, Iterator

import msgpack

from .. import protocol as p
from ..action import RESERVED_PREFIX, Context, Handler, Tracked, check_input
from ..codec import CodecError, Extension, decode, prepare
from ..errors import ClientException, IsockError, RemoteError

_packb = msgpack.packb
_pack_header = p.HEADER.pack
_unpack_header = p.HEADER.unpack_from
_END = object()
# Messages about a call this side made, and messages going on with a request the peer made.
_ANSWERS = frozenset((p.RESULT, p.ERROR, p.ITEM, p.ITEMS, p.END, p.INPUT_CREDIT, p.INPUT_STOP))
_GOING_ON = frozenset((p.CANCEL, p.CREDIT, p.INPUT, p.INPUTS, p.INPUT_END))


class Options:
    """Settings a connection reads (both sides)."""

    __slots__ = (
        "max_frame_size",
        "heartbeat",
        "handshake_timeout",
        "idle_timeout",
        "max_in_flight",
        "extensions",
        "stacks",
        "secret",
        "credentials",
        "authenticate",
    )

    def __init__(
        self,
        *,
        max_frame_size: int = p.DEFAULT_MAX_FRAME_SIZE,
        heartbeat: float = 10.0,
        handshake_timeout: float = 10.0,
        idle_timeout: float | None = 300.0,
        max_in_flight: int = 1000,
        extensions: tuple[Extension, ...] = (),
        stacks: bool = False,
        secret: bytes | None = None,
        credentials: Any = None,
        authenticate: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        if not p.MIN_MAX_FRAME_SIZE <= max_frame_size <= p.MAX_MAX_FRAME_SIZE:
            raise IsockError("INVALID_ARGUMENT", "max_frame_size is 4096 to 4294967295")
        self.max_frame_size = max_frame_size
        self.heartbeat = heartbeat
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self.max_in_flight = max_in_flight
        self.extensions = extensions
        self.stacks = stacks
        self.secret = secret
        self.credentials = credentials  # client: what the server's authenticate checks
        self.authenticate = authenticate  # server: (peer, credentials) -> identity


class Registry:
    """What a server side needs from its server: its handlers, a thread pool, its state."""

    handlers: dict[str, Handler]
    executor: Executor | None
    closing: bool

    def describe(self) -> dict[str, Any]:  # pragma: no cover - the server implements it
        raise NotImplementedError


class ReceiveWindow:
    """The receiving end of a stream's credit (sections 4.7, 4.8, 4.12): items, and bytes between batch peers.

    ``arrive`` checks a message against the window (a breach when the sender overran it);
    ``took`` counts what the consumer took; ``grant`` says what to give back, once the
    consumer has taken half the item window or half the byte window.
    """

    __slots__ = ("items", "bytes", "allowed", "held", "sizes", "taken", "bytes_taken")

    def __init__(self, items: int, byte_window: int = 0) -> None:
        self.items = items
        self.bytes = byte_window
        self.allowed = items  # items the sender may still send
        self.held = 0  # bytes of messages not yet taken whole
        self.sizes: collections.deque[list[int]] = collections.deque()
        self.taken = 0
        self.bytes_taken = 0

    def arrive(self, count: int, size: int) -> None:
        if count > self.allowed:
            raise p.ProtocolBreach("more stream items than credit")
        if self.bytes:
            if self.held >= self.bytes:
                raise p.ProtocolBreach("more stream bytes than credit")
            self.held += size
            self.sizes.append([count, size])
        self.allowed -= count

    def took(self, count: int) -> None:
        self.taken += count
        if self.bytes:
            sizes = self.sizes
            while count and sizes:
                first = sizes[0]
                step = min(count, first[0])
                first[0] -= step
                count -= step
                if first[0] == 0:
                    sizes.popleft()
                    self.held -= first[1]
                    self.bytes_taken += first[1]

    def grant(self) -> list[int] | None:
        """``[count, byteCount]`` (or ``[count]``) to give back now, else ``None``."""
        if self.taken >= max(1, self.items // 2) or (self.bytes and self.bytes_taken >= self.bytes // 2):
            found = [self.taken, self.bytes_taken] if self.bytes else [self.taken]
            self.allowed += self.taken
            self.taken = 0
            self.bytes_taken = 0
            return found
        return None


class SendCredit:
    """The sending end of a stream's credit: items, and bytes when the receiver counts them."""

    __slots__ = ("items", "bytes", "window", "byte_window", "waiter")

    def __init__(self, window: int, byte_window: int = 0) -> None:
        self.items = window
        self.bytes = byte_window
        self.window = window
        self.byte_window = byte_window
        self.waiter: asyncio.Future[None] | None = None

    @property
    def open(self) -> bool:
        """Whether a message of one item may start now."""
        return self.items > 0 and (not self.byte_window or self.bytes > 0)

    def spend(self, size: int) -> None:
        self.items -= 1
        if self.byte_window:
            self.bytes -= size

    def give(self, message: list[Any]) -> None:
        self.items += message[2]
        if self.items > self.window:
            raise p.ProtocolBreach("credit beyond the item window")
        if len(message) == 4 and self.byte_window:
            self.bytes += message[3]
            if self.bytes > self.byte_window:
                raise p.ProtocolBreach("credit beyond the byte window")
        self.wake()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, loop: asyncio.AbstractEventLoop, stopped: Callable[[], bool]) -> None:
        while not self.open and not stopped():
            self.waiter = loop.create_future()
            await self.waiter


class OutCall:
    """A call this side made, waiting for its answer: one result, or a stream of items."""

    __slots__ = (
        "id",
        "future",
        "stream",
        "items",
        "waiter",
        "window",
        "done",
        "error",
        "input_credit",
        "input_stopped",
        "last_event_id",
        "on_metadata",
        "notify",
    )

    def __init__(self, ident: int, future: asyncio.Future[Any], window: ReceiveWindow | None, input_credit: SendCredit) -> None:
        self.id = ident
        self.future = future
        self.stream = window is not None
        self.items: collections.deque[Any] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None
        self.window = window
        self.done = False
        self.error: BaseException | None = None
        self.input_credit = input_credit
        self.input_stopped = False
        self.last_event_id: Any = None
        self.on_metadata: Callable[[dict[str, str]], None] | None = None
        # Called on the loop once the call's future is done: how a caller in another thread
        # hears of its answer without a further turn of the loop.
        self.notify: Callable[[], None] | None = None

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wake_input(self) -> None:
        self.input_credit.wake()


class InputStream:
    """The items of an upload, as a handler reads them: ``async for`` or (in a thread) ``for``."""

    def __init__(self, connection: "Connection", ident: int) -> None:
        self._connection = connection
        self._id = ident
        self._items: collections.deque[Any] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False
        self._error: BaseException | None = None
        batch = connection.batch
        self._window = ReceiveWindow(p.BATCH_WINDOW if batch else p.INPUT_WINDOW, p.BATCH_BYTES if batch else 0)
        self.stopped = False
        self._loop = connection.loop

    def _push(self, items: list[Any], size: int) -> None:
        self._window.arrive(len(items), size)
        if self.stopped:
            return
        self._items.extend(items)
        self._wake()

    def _end(self, error: BaseException | None) -> None:
        self._ended = True
        self._error = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __aiter__(self) -> "InputStream":
        return self

    async def __anext__(self) -> Any:
        while not self._items:
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._waiter = self._loop.create_future()
            await self._waiter
        item = self._items.popleft()
        self._window.took(1)
        grant = self._window.grant()
        if grant is not None and not self._ended:
            self._connection.send([p.INPUT_CREDIT, self._id, *grant])
        return item

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        future = asyncio.run_coroutine_threadsafe(self._next_or_end(), self._loop)
        item = future.result()
        if item is _END:
            raise StopIteration
        return item

    async def _next_or_end(self) -> Any:
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            return _END


class SyncPump:
    """Pulls a plain generator in the server's threads, within its stream's item credit.

    A worker thread runs ``next()`` as long as there is credit, then gives the thread back;
    a grant starts it again. The loop sends what the thread produced: everything ready at
    once in one message to a batch peer (within its byte credit, at the size per item so
    far), one item a message to the others. The thread closes the generator when the stream
    is stopped.
    """

    def __init__(self, connection: "Connection", call: "InCall", source: Any) -> None:
        assert call.credit is not None
        self.connection = connection
        self.call = call
        self.credit = call.credit
        self.source = source
        self.lock = threading.Lock()
        self.permits = call.credit.items
        self.pending: collections.deque[Any] = collections.deque()
        self.working = False
        self.scheduled = False
        self.stopped = False
        self.closed = False
        self.ended = False
        self.error: BaseException | None = None
        self.done: asyncio.Future[None] = connection.loop.create_future()
        self.sent_items = 0
        self.sent_bytes = 0

    # -- in a worker thread ---------------------------------------------------

    def run(self) -> None:
        source = self.source
        while True:
            with self.lock:
                if self.stopped or self.ended or self.permits <= 0:
                    self.working = False
                    close = self.stopped and not self.closed
                    self.closed = self.closed or close
                    break
                self.permits -= 1
            try:
                item = next(source)
            except StopIteration:
                self._finish(None)
                return
            except BaseException as error:  # the generator's failure ends the stream with it
                self._finish(error if isinstance(error, Exception) else RuntimeError(repr(error)))
                return
            with self.lock:
                self.pending.append(item)
                wake = not self.scheduled
                self.scheduled = True
            if wake:
                self.connection.loop.call_soon_threadsafe(self.flush)
        if close:
            _close_quietly(source)

    def _finish(self, error: BaseException | None) -> None:
        with self.lock:
            self.ended = True
            self.working = False
            self.error = error
            wake = not self.scheduled
            self.scheduled = True
        if wake:
            self.connection.loop.call_soon_threadsafe(self.flush)

    # -- on the loop -----------------------------------------------------------

    def kick(self) -> None:
        with self.lock:
            start = not (self.working or self.stopped or self.ended) and self.permits > 0
            self.working = self.working or start
        if start:
            self.connection.loop.run_in_executor(registry_executor(self.connection.registry), self.run)

    def grant(self, count: int) -> None:
        with self.lock:
            self.permits += count
        self.kick()
        self.flush()

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            close = not self.working and not self.ended and not self.closed
            self.closed = self.closed or close
        if close:
            self.connection.loop.run_in_executor(registry_executor(self.connection.registry), _close_quietly, self.source)

    def flush(self) -> None:
        with self.lock:
            self.scheduled = False
        if self.done.done():
            return
        connection = self.connection
        if connection.running.get(self.call.id) is not self.call or connection.state != OPEN:
            self.stop()
            self.done.set_result(None)
            return
        if connection.write_paused:
            connection.loop.create_task(self._after_drain())
            return
        credit = self.credit
        try:
            while True:
                with self.lock:
                    if not self.pending or credit.items <= 0:
                        break
                    if credit.byte_window and credit.bytes <= 0:
                        break  # a grant calls flush again
                    count = 1
                    if connection.batch and len(self.pending) > 1:
                        count = min(len(self.pending), credit.items)
                        if credit.byte_window and self.sent_items:
                            per_item = max(1, self.sent_bytes // self.sent_items)
                            count = max(1, min(count, credit.bytes // per_item))
                    items = [self.pending.popleft() for _ in range(count)]
                size = connection.send_items(self.call.id, items)
                credit.items -= count
                if credit.byte_window:
                    credit.bytes -= size
                self.sent_items += count
                self.sent_bytes += size
        except Exception as error:  # an item that cannot be encoded or is too large
            self.stop()
            self.error = error
            self.done.set_result(None)
            return
        with self.lock:
            finished = self.ended and not self.pending
        if finished:
            self.done.set_result(None)

    async def _after_drain(self) -> None:
        await self.connection.drain()
        self.flush()


def _close_quietly(source: Any) -> None:
    try:
        source.close()
    except Exception:
        pass


class InCall:
    """A request this side runs: its task, context, stream credit and upload."""

    __slots__ = ("id", "task", "context", "credit", "inputs", "pump")

    def __init__(self, ident: int, context: Context, credit: SendCredit | None) -> None:
        self.id = ident
        self.task: asyncio.Task[None] | None = None
        self.context = context
        self.credit = credit
        self.inputs: InputStream | None = None
        self.pump: SyncPump | None = None


HELLO, AUTH, OPEN, CLOSED = range(4)


class Connection(asyncio.Protocol):
    """One connection, client side (``registry is None``) or server side."""

    def __init__(
        self,
        options: Options,
        registry: Registry | None = None,
        on_close: Callable[["Connection"], None] | None = None,
        *,
        is_server: bool | None = None,
    ) -> None:
        self.options = options
        self.registry = registry  # the actions this side offers, when it offers some
        self.is_server = registry is not None if is_server is None else is_server
        self.on_close = on_close
        self.loop = asyncio.get_event_loop()
        self.transport: asyncio.Transport | None = None
        self.state = HELLO
        self.limit = p.HELLO_MAX
        self.buffer = bytearray()
        self.nonce = os.urandom(32)
        self.peer_nonce = b""
        self.peer_max = p.MIN_MAX_FRAME_SIZE
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.closing = False  # the peer said goodbye: no new calls on this connection
        self.said_goodbye = False  # this side said goodbye: no new requests run
        self.peer_metadata = False  # the peer's hello said metadata: true (section 4.11)
        self.identity: Any = None  # what the server's authenticate said of the client
        self.address: tuple[str, int] | str | None = None  # the peer's address
        self.close_error: IsockError | None = None
        self.last_received = time.monotonic()
        self.last_request = time.monotonic()
        self.ids = itertools.count(1)  # next() is atomic: calls start on the loop and in other threads
        self.calls: dict[int, OutCall] = {}
        self.running: dict[int, InCall] = {}
        self.fragments: dict[int, tuple[int, bytearray, float]] = {}
        self.fragment_bytes = 0
        self.write_paused = False
        self.drain_waiters: list[asyncio.Future[None]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.peer_serves = False
        self.auth_answered = False
        self.auth_pending = False  # an async authenticate is running: frames wait
        self._peer: Any = None
        self.batch = False  # both hellos said batch: true
        self.refusing = False  # over the connection limit: hello, goodbye, close
        self.size = 0  # the body length of the message being handled
        # Writes take this lock: another thread may write a call straight to the socket
        # (write_call_from_thread) while the transport's buffer is empty.
        self.write_lock = threading.Lock()
        self.socket_fd: int | None = None  # the plain socket's descriptor, for those writes
        self.rest = b""  # what such a write left unsent, which the loop writes first

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        try:
            self.address = transport.get_extra_info("peername")
        except Exception:
            self.address = None
        sock = transport.get_extra_info("socket")
        if not self.is_server and os.name == "posix" and sock is not None and transport.get_extra_info("sslcontext") is None:
            self.socket_fd = sock.fileno()
        fields: dict[str, Any] = {
            "maxFrameSize": self.options.max_frame_size,
            "nonce": self.nonce,
            "batch": True,
            "metadata": True,
        }
        if self.is_server and (self.options.secret is not None or self.options.authenticate is not None):
            fields["authRequired"] = True
        if not self.is_server and self.registry is not None:
            fields["serves"] = True
        self._write(p.hello(fields))
        self.timer = self.loop.call_later(self.options.handshake_timeout, self._handshake_expired)

    def data_received(self, data: bytes) -> None:
        if self.refusing:
            return
        self.last_received = time.monotonic()
        buffer = self.buffer
        buffer += data
        position = 0
        size = len(buffer)
        try:
            while size - position >= 4:
                (length,) = _unpack_header(buffer, position)
                if length > self.limit:
                    if self.state == HELLO:
                        raise p.ProtocolBreach(f"a first frame of {length} bytes is no hello")
                    raise p.ProtocolBreach(f"a frame of {length} bytes is over the limit", "FRAME_TOO_LARGE")
                end = position + 4 + length
                if end > size:
                    break
                body = bytes(buffer[position + 4 : end])
                position = end
                self._on_body(body)
                if self.state == CLOSED:
                    return
                if self.auth_pending:
                    break  # the rest waits for authenticate (see _authenticate)
        except p.ProtocolBreach as breach:
            self.breach(breach)
            return
        del buffer[:position]

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed(self.close_error or ClientException("CONNECTION_CLOSED", "the connection closed"))

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.is_server and self.transport is not None:
            self.transport.pause_reading()  # the peer does not read its answers: stop reading its requests

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.is_server and self.transport is not None and self.state != CLOSED:
            self.transport.resume_reading()
        waiters, self.drain_waiters = self.drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self) -> None:
        """Waits while the connection is congested."""
        while self.write_paused and self.state != CLOSED:
            waiter = self.loop.create_future()
            self.drain_waiters.append(waiter)
            await waiter

    # -- sending ------------------------------------------------------------

    def _write(self, body: bytes) -> None:
        if self.transport is not None and self.state != CLOSED:
            with self.write_lock:
                if self.rest:
                    self._write_rest()
                self.transport.write(_pack_header(len(body)) + body)

    def _write_rest(self) -> None:
        """Hands the transport what a write from another thread left unsent (under ``write_lock``)."""
        rest, self.rest = self.rest, b""
        if rest and self.transport is not None and self.state != CLOSED:
            self.transport.write(rest)

    def _flush_rest(self) -> None:
        with self.write_lock:
            self._write_rest()

    def write_call_from_thread(
        self, name: str, data: Any, meta: dict[str, Any], notify: Callable[[], None]
    ) -> OutCall | None:
        """Starts a plain call from a thread other than the loop's, writing it to the socket itself.

        ``data`` is prepared already. The request is written only while the transport has
        nothing buffered (so it cannot overtake the loop's writes) and no other write runs
        (``write_lock``); ``None`` when it cannot go so (TLS, a congested or closing connection,
        a frame over the peer's limit): then start the call on the loop. The answer is read
        on the loop as usual, and ``notify`` runs there once ``call.future`` is done. What the
        socket did not take at once, the loop writes before anything else.
        """
        fd = self.socket_fd
        transport = self.transport
        if fd is None or transport is None:
            return None
        ident = next(self.ids)
        message = [p.REQUEST, ident, name, data]
        if meta:
            message.append(meta)
        body = _packb(message)
        if len(body) > self.peer_max:
            return None
        frame = _pack_header(len(body)) + body
        with self.write_lock:
            # Under the lock: the loop marks the connection closed under it too, so a call
            # registered here is either failed by the close or answered.
            if (
                self.state != OPEN
                or self.closing
                or self.rest
                or transport.is_closing()
                or transport.get_write_buffer_size()
            ):
                return None
            credit = SendCredit(p.BATCH_WINDOW, p.BATCH_BYTES) if self.batch else SendCredit(p.INPUT_WINDOW)
            call = OutCall(ident, self.loop.create_future(), None, credit)
            call.notify = notify
            self.calls[ident] = call
            try:
                sent = os.write(fd, frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                del self.calls[ident]
                return None  # the loop sees the broken connection; the call goes there
            if sent < len(frame):
                self.rest = frame[sent:]
                self.loop.call_soon_threadsafe(self._flush_rest)
        return call

    def send(self, message: list[Any]) -> None:
        """Sends a message of plain values (no data to prepare)."""
        self._write(_packb(message))

    def send_data(self, message: list[Any]) -> int:
        """Sends a message whose items are already prepared; ``FRAME_TOO_LARGE`` when over the peer's limit."""
        body = _packb(message)
        if len(body) > self.peer_max:
            raise IsockError("FRAME_TOO_LARGE", f"a message of {len(body)} bytes is over the peer's limit of {self.peer_max}")
        self._write(body)
        return len(body)

    @property
    def peer(self) -> Any:
        """The other end, as a handler calls its actions (:class:`isock.aio.Peer`)."""
        found = self._peer
        if found is None:
            from ._peer import Peer

            found = self._peer = Peer(self)
        return found

    def send_items(self, ident: int, items: list[Any]) -> int:
        """Sends stream items in one ITEM (one item) or ITEMS message, with the last tracked id."""
        event_id = None
        values = []
        for item in items:
            if type(item) is Tracked:
                event_id = item.id
                item = item.value
            values.append(self.prepare(item))
        message = [p.ITEM, ident, values[0]] if len(values) == 1 else [p.ITEMS, ident, values]
        if event_id is not None:
            message.append(event_id)
        return self.send_data(message)

    def prepare(self, value: Any) -> Any:
        return prepare(value, self.options.extensions, stacks=self.options.stacks)

    def goodbye(self, code: str | None = None, message: str = "") -> None:
        if code is None:
            self.send([p.GOODBYE])
        else:
            self.send([p.GOODBYE, p.error_object(code, "ProtocolError", message)])

    def breach(self, breach: IsockError) -> None:
        """The peer broke the protocol: goodbye with the code, close, fail everything."""
        if self.state == CLOSED:
            return
        self.goodbye(breach.code, str(breach))
        self.close(breach)

    def close(self, error: IsockError | None = None) -> None:
        if self.state == CLOSED:
            return
        if error is not None and self.close_error is None:
            self.close_error = error
        if self.transport is not None:
            self.transport.close()
        self._closed(self.close_error or ClientException("CONNECTION_CLOSED", "the connection closed"))

    def _closed(self, error: IsockError) -> None:
        if self.state == CLOSED:
            return
        with self.write_lock:
            self.state = CLOSED
        if self.timer is not None:
            self.timer.cancel()
        if not self.ready.done():
            self.ready.set_exception(error)
            self.ready.exception()
        for call in list(self.calls.values()):
            self._fail_call(call, error)
        self.calls.clear()
        for running in list(self.running.values()):
            running.context._cancel()
            if running.inputs is not None:
                running.inputs._end(IsockError("CONNECTION_CLOSED", "the connection closed"))
            if running.task is not None:
                running.task.cancel()
        self.running.clear()
        self.resume_writing()
        if not self.closed.done():
            self.closed.set_result(None)
        if self.on_close is not None:
            self.on_close(self)

    # -- timers -------------------------------------------------------------

    def _handshake_expired(self) -> None:
        if self.state != OPEN:
            self.close(IsockError("TIMEOUT", "no handshake within the handshake timeout"))

    def _tick(self) -> None:
        """Every heartbeat: the peer is dead after three silent intervals; else ping it."""
        if self.state != OPEN:
            return
        now = time.monotonic()
        beat = self.options.heartbeat
        if now - self.last_received > 3 * beat:
            self.close(ClientException("CONNECTION_CLOSED", "the peer sent nothing for three heartbeats"))
            return
        for ident, (_total, _parts, since) in list(self.fragments.items()):
            if now - since > p.FRAGMENT_STALL:
                self.breach(p.ProtocolBreach(f"fragmented message {ident} stalled"))
                return
        idle = self.options.idle_timeout
        if (
            self.is_server
            and idle is not None
            and not self.running
            and not self.peer_serves
            and now - self.last_request > idle
        ):
            self.goodbye()
            self.close()
            return
        self.send([p.PING, 0])
        self.timer = self.loop.call_later(beat, self._tick)

    # -- receiving ----------------------------------------------------------

    def _on_body(self, body: bytes) -> None:
        if self.state == HELLO:
            self._on_hello(body)
            return
        found = p.decode_message(body, self.options.extensions)
        if isinstance(found, CodecError):
            self._on_undecodable(body, found)
            return
        self.size = len(body)
        self._on_message(found)

    def _on_hello(self, body: bytes) -> None:
        fields = p.parse_hello(body)
        self.peer_max = fields["maxFrameSize"]
        self.peer_nonce = fields.get("nonce") or b""
        self.peer_serves = fields.get("serves") is True
        self.peer_metadata = fields.get("metadata") is True
        self.batch = fields.get("batch") is True
        secret = self.options.secret
        if self.is_server:
            if secret is not None or self.options.authenticate is not None:
                self.state = AUTH
                self.limit = p.PRE_AUTH_MAX
            else:
                self._open()
            return
        credentials = self.options.credentials
        if secret is not None or credentials is not None or fields.get("authRequired") is True:
            proof = p.client_proof(secret, self.peer_nonce, self.nonce) if secret is not None else None
            self.send([p.AUTH, proof] if credentials is None else [p.AUTH, proof, self.prepare(credentials)])
            self.state = AUTH
            self.limit = p.PRE_AUTH_MAX
        else:
            self._open()

    def _open(self) -> None:
        self.state = OPEN
        self.limit = self.options.max_frame_size
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(self.options.heartbeat, self._tick)
        if not self.ready.done():
            self.ready.set_result(None)

    def _on_auth(self, message: list[Any]) -> None:
        kind = message[0]
        secret = self.options.secret
        if self.is_server:
            if kind != p.AUTH:
                raise p.ProtocolBreach("authenticate first", "UNAUTHORIZED")
            proof = message[1]
            if secret is not None:
                expected = p.client_proof(secret, self.nonce, self.peer_nonce)
                if type(proof) is not bytes or len(self.peer_nonce) != 32 or not hmac.compare_digest(proof, expected):
                    raise p.ProtocolBreach("wrong or missing secret", "UNAUTHORIZED")
            check = self.options.authenticate
            if check is not None:
                credentials = message[2] if len(message) == 3 else None
                try:
                    identity = check(self.peer, credentials)
                except Exception:
                    raise p.ProtocolBreach("the credentials were refused", "UNAUTHORIZED") from None
                if inspect.isawaitable(identity):
                    self.auth_pending = True
                    if self.transport is not None:
                        self.transport.pause_reading()
                    self.loop.create_task(self._authenticate(identity))
                    return
                self._authenticated(identity)
                return
            self._authenticated(None)
            return
        if kind == p.GOODBYE:
            self._on_goodbye(message)
            return
        if kind != p.AUTH_OK:
            raise p.ProtocolBreach("the server sent a message before authenticating", "UNAUTHORIZED")
        if secret is not None:
            expected = p.server_proof(secret, self.nonce, self.peer_nonce)
            proof = message[1]
            if type(proof) is not bytes or not hmac.compare_digest(proof, expected):
                self.close(IsockError("UNAUTHORIZED", "the server could not prove it knows the secret"))
                return
        self._open()

    def _authenticated(self, identity: Any) -> None:
        """Server: the client passed; ``identity`` is what ``authenticate`` said (``None`` without it)."""
        if self.options.authenticate is not None and (identity is None or identity is False):
            raise p.ProtocolBreach("the credentials were refused", "UNAUTHORIZED")
        self.identity = identity
        secret = self.options.secret
        self.send([p.AUTH_OK, p.server_proof(secret, self.peer_nonce, self.nonce) if secret is not None else None])
        self.auth_answered = True
        self._open()

    async def _authenticate(self, pending: Any) -> None:
        """Server: waits for an async ``authenticate``, then handles the frames that waited."""
        try:
            identity = await pending
            if self.state == CLOSED:
                return
            self._authenticated(identity)
        except p.ProtocolBreach as breach:
            self.breach(breach)
            return
        except Exception:
            self.breach(p.ProtocolBreach("the credentials were refused", "UNAUTHORIZED"))
            return
        finally:
            self.auth_pending = False
        if self.transport is not None and self.state != CLOSED:
            self.transport.resume_reading()
            self.data_received(b"")

    def _on_undecodable(self, body: bytes, error: CodecError) -> None:
        """A message whose data did not decode: only its call fails (section 4.1)."""
        kind, ident = p.peek(body)
        if self.state != OPEN:
            raise p.ProtocolBreach(f"an undecodable message during the handshake: {error}")
        if kind == p.REQUEST:
            self.send([p.ERROR, ident, p.error_object("INVALID_REQUEST", "CodecError", str(error))])
        elif kind in (p.RESULT, p.ITEM, p.ITEMS, p.ERROR, p.END):
            call = self.calls.pop(ident, None)
            if call is not None:
                self._fail_call(call, CodecError(error.code, f"the answer did not decode: {error}"))
                self.send([p.CANCEL, ident])
        elif kind in (p.INPUT, p.INPUTS):
            running = self.running.get(ident)
            if running is not None and running.inputs is not None:
                running.inputs._end(CodecError(error.code, f"an input did not decode: {error}"))
        else:
            raise p.ProtocolBreach(f"an undecodable message of type {kind}: {error}")

    def _on_message(self, message: list[Any]) -> None:
        kind = message[0]
        if self.state == AUTH:
            self._on_auth(message)
            return
        if kind == p.PING:
            self.send([p.PONG, message[1]])
        elif kind == p.PONG:
            pass
        elif kind == p.GOODBYE:
            self._on_goodbye(message)
        elif kind == p.FRAGMENT:
            self._on_fragment(message)
        elif kind == p.REQUEST:
            self._on_request(message)
        elif kind in _ANSWERS:
            self._on_answer(kind, message)
        elif kind in _GOING_ON:
            self._on_going_on(kind, message)
        elif kind == p.AUTH and self.is_server and not self.auth_answered:
            self.auth_answered = True
            self.send([p.AUTH_OK, None])
        else:
            raise p.ProtocolBreach(f"message type {kind} after the handshake")

    def _on_goodbye(self, message: list[Any]) -> None:
        if len(message) == 2 and message[1] is not None:
            error = message[1]
            failure = (
                ClientException(error["code"], error["message"])
                if error["code"] in ("OVERLOADED", "CONNECTION_CLOSED")
                else IsockError(error["code"], error["message"])
            )
            self.close(failure)
            return
        self.closing = True
        self._close_if_done()

    def _close_if_done(self) -> None:
        """After a goodbye either way: closes once no call waits and no request runs."""
        if (self.closing or self.said_goodbye) and not self.calls and not self.running:
            self.close()

    def _on_fragment(self, message: list[Any]) -> None:
        ident, total, piece = message[1], message[2], message[3]
        entry = self.fragments.get(ident)
        if entry is None:
            if total > self.options.max_frame_size:
                raise p.ProtocolBreach(f"a fragmented message of {total} bytes", "FRAME_TOO_LARGE")
            if len(self.fragments) >= p.MAX_FRAGMENTS or self.fragment_bytes + total > self.options.max_frame_size:
                raise p.ProtocolBreach("too many or too large fragmented messages")
            entry = (total, bytearray(), time.monotonic())
            self.fragments[ident] = entry
            self.fragment_bytes += total
        if entry[0] != total:
            raise p.ProtocolBreach("a fragment's total changed")
        parts = entry[1]
        parts += piece
        if len(parts) > total:
            raise p.ProtocolBreach("fragments longer than their total")
        self.fragments[ident] = (total, parts, time.monotonic())
        if len(parts) == total:
            del self.fragments[ident]
            self.fragment_bytes -= total
            body = bytes(parts)
            found = p.decode_message(body, self.options.extensions)
            if isinstance(found, CodecError):
                self._on_undecodable(body, found)
                return
            if found[0] == p.FRAGMENT:
                raise p.ProtocolBreach("fragments do not nest")
            self.size = total
            self._on_message(found)

    # -- client side: answers to our calls -----------------------------------

    def _on_answer(self, kind: int, message: list[Any]) -> None:
        """A message about a call this side made (section 4.1: its id is ours)."""
        ident = message[1]
        if kind == p.ITEMS and not self.batch:
            raise p.ProtocolBreach("an items message from a peer that did not announce batch")
        call = self.calls.get(ident)
        if call is None:
            return  # a late answer to a call given up
        if kind in (p.RESULT, p.ERROR, p.END) and len(message) == 4 and message[3] is not None:
            failure = self._answer_metadata(call, message[3])
            if failure is not None:
                self._finish(call)
                self._fail_call(call, failure)
                return
        if kind == p.RESULT:
            if call.stream:
                call.items.append(message[2])
                call.done = True
                self._finish(call)
                call.wake()
            else:
                self._finish(call)
                if not call.future.done():
                    call.future.set_result(message[2])
                    if call.notify is not None:
                        call.notify()
        elif kind == p.ERROR or (kind == p.END and len(message) > 2 and message[2] is not None):
            self._finish(call)
            self._fail_call(call, p.remote_error(message[2]))
        elif kind == p.ITEM or (kind == p.ITEMS and self.batch):
            if call.window is None:
                raise p.ProtocolBreach("an item for a call that asked for no stream")
            if kind == p.ITEM:
                call.window.arrive(1, self.size)
                call.items.append(message[2])
            else:
                call.window.arrive(len(message[2]), self.size)
                call.items.extend(message[2])
            if len(message) == 4:
                call.last_event_id = message[3]
            call.wake()
        elif kind == p.END:
            if not call.stream:
                raise p.ProtocolBreach("an end for a call that asked for no stream")
            call.done = True
            self._finish(call)
            call.wake()
        elif kind == p.INPUT_CREDIT:
            call.input_credit.give(message)
        elif kind == p.INPUT_STOP:
            call.input_stopped = True
            call.wake_input()

    def _answer_metadata(self, call: OutCall, answer_meta: Any) -> BaseException | None:
        """Hands an answer's metadata to its caller; the error the call fails with when it is refused."""
        metadata = answer_meta.get("metadata")
        if metadata is None:
            return None
        try:
            p.check_metadata(metadata)
        except IsockError as error:
            return ClientException("PROTOCOL", f"the answer's metadata was refused: {error}")
        if call.on_metadata is not None:
            try:
                call.on_metadata(metadata)
            except Exception as error:
                return error
        return None

    def _finish(self, call: OutCall) -> None:
        self.calls.pop(call.id, None)
        call.input_stopped = True
        call.wake_input()
        self._close_if_done()

    def _fail_call(self, call: OutCall, error: BaseException) -> None:
        call.error = error
        call.done = True
        call.input_stopped = True
        call.wake_input()
        if call.stream:
            call.wake()
        elif not call.future.done():
            call.future.set_exception(error)
            call.future.exception()  # no "never retrieved" warning for a call given up
            if call.notify is not None:
                call.notify()

    def start_call(
        self,
        name: str,
        data: Any,
        meta: dict[str, Any],
        stream: bool | int = False,
        upload: bool = False,
        prepared: bool = False,
        on_metadata: Callable[[dict[str, str]], None] | None = None,
    ) -> OutCall:
        """Sends a request; the call waits in ``self.calls`` for its answer.

        A stream asks for a window of ``stream`` items when it is a number, else of 16 items,
        or of 1,024 items and 1 MiB from a batch peer. ``prepared``: ``data`` went through
        :meth:`prepare` already (in another thread).
        """
        if self.state != OPEN or self.closing:
            error = self.close_error
            if error is not None and error.code != "CONNECTION_CLOSED":
                raise (ClientException if isinstance(error, ClientException) else IsockError)(error.code, str(error))
            raise ClientException("CONNECTION_CLOSED", "the connection is closing")
        ident = next(self.ids)
        if upload:
            data = None
        elif not prepared:
            data = self.prepare(data)
        window = None
        if stream:
            items = stream if type(stream) is int else p.BATCH_WINDOW if self.batch else p.STREAM_WINDOW
            if not 1 <= items <= p.MAX_WINDOW:
                raise IsockError("INVALID_ARGUMENT", "a stream window is 1 to 65,536 items")
            meta["stream"] = items
            if self.batch:
                window = ReceiveWindow(items, p.BATCH_BYTES)
                meta["streamBytes"] = p.BATCH_BYTES
            else:
                window = ReceiveWindow(items)
        message = [p.REQUEST, ident, name, data]
        if meta:
            message.append(meta)
        input_credit = SendCredit(p.BATCH_WINDOW, p.BATCH_BYTES) if self.batch else SendCredit(p.INPUT_WINDOW)
        call = OutCall(ident, self.loop.create_future(), window, input_credit)
        call.on_metadata = on_metadata
        self.send_data(message)
        self.calls[ident] = call
        return call

    def cancel_call(self, call: OutCall) -> None:
        """The caller gave up: a cancel goes to the server, later answers are ignored."""
        if self.calls.pop(call.id, None) is not None and self.state == OPEN:
            self.send([p.CANCEL, call.id])
        call.done = True
        call.input_stopped = True
        call.wake_input()
        self._close_if_done()

    def take(self, call: OutCall, limit: int = 0) -> list[Any]:
        """Items waiting on a stream (``limit`` of them, or all), taken by the consumer.

        Credit for them goes back once the consumer has taken half the window.
        """
        if limit and len(call.items) > limit:
            items = [call.items.popleft() for _ in range(limit)]
        else:
            items = list(call.items)
            call.items.clear()
        if items and call.window is not None:
            call.window.took(len(items))
            if not call.done and self.state == OPEN:
                grant = call.window.grant()
                if grant is not None:
                    self.send([p.CREDIT, call.id, *grant])
        return items

    async def send_inputs(self, call: OutCall, source: Any) -> None:
        """Sends an upload's items within the server's input credit, then its end."""
        try:
            if hasattr(source, "__aiter__"):
                iterator: Any = source.__aiter__()
                is_async = True
            else:
                iterator = iter(source)
                is_async = False
            credit = call.input_credit
            while True:
                await credit.wait(self.loop, lambda: call.input_stopped)
                if call.input_stopped or self.state != OPEN:
                    break
                await self.drain()
                try:
                    item = await iterator.__anext__() if is_async else next(iterator)
                except (StopIteration, StopAsyncIteration):
                    if not call.input_stopped and self.state == OPEN:
                        self.send([p.INPUT_END, call.id])
                    break
                if call.input_stopped or self.state != OPEN:
                    break
                credit.spend(self.send_data([p.INPUT, call.id, self.prepare(item)]))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not call.input_stopped and self.state == OPEN:
                self.send([p.INPUT_END, call.id, self._error_object(error, "ACTION_FAILED")])
        finally:
            closer = getattr(source, "aclose", None) or getattr(source, "close", None)
            if closer is not None:
                try:
                    result = closer()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:
                    pass

    # -- server side: requests we run -----------------------------------------

    def _on_going_on(self, kind: int, message: list[Any]) -> None:
        """A message that goes on with a request the peer sent (section 4.1: its id is the peer's)."""
        ident = message[1]
        call = self.running.get(ident)
        if kind == p.CANCEL:
            if call is not None:
                self._cancel_running(call)
        elif kind == p.CREDIT:
            if call is not None and call.credit is not None:
                call.credit.give(message)
                if call.pump is not None:
                    call.pump.grant(message[2])
        elif kind == p.INPUT or (kind == p.INPUTS and self.batch):
            if call is not None and call.inputs is not None:
                call.inputs._push([message[2]] if kind == p.INPUT else message[2], self.size)
        elif kind == p.INPUT_END:
            if call is not None and call.inputs is not None:
                error = message[2] if len(message) == 3 else None
                call.inputs._end(p.remote_error(error) if error is not None else None)
        else:
            raise p.ProtocolBreach("an inputs message from a peer that did not announce batch")

    def _cancel_running(self, call: InCall) -> None:
        call.context._cancel()
        if call.inputs is not None:
            call.inputs.stopped = True
        if call.task is not None:
            call.task.cancel()

    def _error_object(self, error: BaseException, code: str) -> dict[str, Any]:
        if isinstance(error, RemoteError):
            name = error.remote_name
            fields = error.fields
        else:
            name = type(error).__name__
            fields = None
        encoded = self.prepare(error)
        # The codec writes the error as extension 5; its fields are the map we want here.
        payload = decode(_packb(encoded)) if isinstance(encoded, msgpack.ExtType) else None
        own = dict(payload.fields) if payload is not None else {}
        if fields:
            own.update(fields)
        stack = payload.stack if payload is not None else None
        cause = payload.cause if payload is not None else None
        found = p.error_object(code, name, str(error))
        if stack:
            found["stack"] = stack
        if cause is not None:
            found["cause"] = self.prepare(cause)
        if own:
            try:
                found["fields"] = self.prepare(own)
            except CodecError:
                pass
        return found

    def _on_request(self, message: list[Any]) -> None:
        registry = self.registry
        ident, name = message[1], message[2]
        if registry is None:
            self.send([p.ERROR, ident, p.error_object("UNKNOWN_ACTION", "RemoteError", f'No action named "{name}" here.')])
            return
        self.last_request = time.monotonic()
        if ident in self.running:
            raise p.ProtocolBreach(f"request id {ident} is already in flight")
        meta = message[4] if len(message) == 5 and message[4] is not None else {}
        window = meta.get("stream", 0)
        if window is not None and window != 0 and (type(window) is not int or not 1 <= window <= p.MAX_WINDOW):
            raise p.ProtocolBreach(f"a stream window of {window!r}")
        window = window or 0
        byte_window = meta.get("streamBytes", 0) if self.batch else 0
        if type(byte_window) is not int or byte_window < 0:
            raise p.ProtocolBreach(f"a stream byte window of {byte_window!r}")
        if self.said_goodbye or registry.closing:
            self.send([p.ERROR, ident, p.error_object("CONNECTION_CLOSED", "ClientError", "the server is shutting down")])
            return
        try:
            metadata = p.check_metadata(meta["metadata"]) if "metadata" in meta else {}
        except IsockError as error:
            self.send([p.ERROR, ident, p.error_object("INVALID_REQUEST", "RemoteError", str(error))])
            return
        if len(self.running) >= self.options.max_in_flight:
            self.send([p.ERROR, ident, p.error_object("OVERLOADED", "RemoteError", "too many requests in flight on this connection")])
            return
        if name.startswith(RESERVED_PREFIX):
            if name == "$isock.describe":
                self.send_data([p.RESULT, ident, self.prepare(registry.describe())])
            else:
                self.send([p.ERROR, ident, p.error_object("UNKNOWN_ACTION", "RemoteError", f'No action named "{name}" here.')])
            return
        handler = registry.handlers.get(name)
        if handler is None:
            self.send([p.ERROR, ident, p.error_object("UNKNOWN_ACTION", "RemoteError", f'No action named "{name}" here.')])
            return
        data = message[3] if len(message) > 3 else None
        if handler.input is not None:
            # A check sees one value: streamed data would go round it (section 4.1).
            issues = (
                [{"message": f'"{name}" checks its input and takes a single value, not a stream', "path": []}]
                if meta.get("input") is True
                else check_input(handler.input, data)
            )
            if issues:
                message_text = issues[0]["message"] if len(issues) == 1 else f"{len(issues)} issues with the input"
                self.send_data([p.ERROR, ident, p.error_object("INVALID_INPUT", "RemoteError", message_text, issues=self.prepare(issues))])
                return
        timeout = meta.get("timeout")
        seconds = timeout / 1000 if isinstance(timeout, (int, float)) and timeout >= 0 else None
        deadline = None if seconds is None else time.time() + seconds
        last_event_id = meta.get("lastEventId")
        context = Context(
            deadline=deadline,
            metadata=metadata,
            last_event_id=last_event_id,
            loop=self.loop,
            peer=self.peer,
            identity=self.identity,
        )
        call = InCall(ident, context, SendCredit(window, byte_window) if window else None)
        if meta.get("input") is True:
            call.inputs = InputStream(self, ident)
            data = call.inputs
        self.running[ident] = call
        call.task = self.loop.create_task(self._run(call, handler, data))
        if seconds is not None:
            # The server's own timer: the call ends on time even if the cancel never comes.
            self.loop.call_later(seconds, self._deadline_passed, call)

    def _deadline_passed(self, call: InCall) -> None:
        if self.running.get(call.id) is call:
            call.context._cancel()
            if call.task is not None:
                call.task.cancel()
            del self.running[call.id]

    async def _run(self, call: InCall, handler: Handler, data: Any) -> None:
        ident = call.id
        source: Any = None
        try:
            arguments = (data, call.context) if handler.takes_context else (data,)
            if handler.is_async_gen:
                source = handler.function(*arguments)
            elif handler.is_async:
                source = await handler.function(*arguments)
            elif handler.is_gen:
                source = handler.function(*arguments)
            else:
                source = await self.loop.run_in_executor(registry_executor(self.registry), lambda: handler.function(*arguments))
            if _is_stream(source):
                if call.credit is None:
                    self._answer(call, [p.ERROR, ident, p.error_object("STREAM_REQUIRED", "RemoteError", f'"{handler.name}" streams its result: ask for a stream')])
                    return
                await self._stream(call, source)
                return
            result = source
            source = None
            try:
                self._answer(call, [p.RESULT, ident, self.prepare(result)])
            except IsockError as error:
                code = "FRAME_TOO_LARGE" if error.code == "FRAME_TOO_LARGE" else "ACTION_FAILED"
                self._answer(call, [p.ERROR, ident, p.error_object(code, type(error).__name__, f"the result could not be sent: {error}")])
        except asyncio.CancelledError:
            pass  # the caller gave up, or the connection closed: nothing more for this id
        except Exception as error:
            self._answer(call, [p.ERROR, ident, self._error_object(error, "ACTION_FAILED")])
        finally:
            if call.pump is not None:
                call.pump.stop()  # the pump's thread closes the generator
            elif source is not None and _is_stream(source):
                await _close_source(source, self.registry)
            if self.running.get(ident) is call:
                del self.running[ident]
            if call.inputs is not None and not call.inputs._ended and self.state == OPEN and not call.context.cancelled:
                call.inputs.stopped = True
                self.send([p.INPUT_STOP, ident])

    def _answer(self, call: InCall, message: list[Any]) -> None:
        if self.running.get(call.id) is not call or self.state != OPEN:
            return
        del self.running[call.id]
        metadata = call.context.response_metadata
        if metadata and self.peer_metadata and message[0] in (p.RESULT, p.ERROR, p.END):
            try:
                answer_meta = {"metadata": p.check_metadata(metadata)}
            except IsockError as error:
                message = [p.ERROR, call.id, p.error_object("ACTION_FAILED", "ClientError", f"the response metadata was refused: {error}")]
            else:
                if message[0] == p.END:
                    message = [p.END, call.id, None, answer_meta]
                else:
                    message.append(answer_meta)
        self.send_data(message)
        self._close_if_done()

    async def _pump(self, call: InCall, source: Any) -> None:
        """Streams a plain generator's items (see :class:`SyncPump`), then its end."""
        pump = SyncPump(self, call, source)
        call.pump = pump
        pump.kick()
        try:
            await pump.done
        except BaseException:
            pump.stop()
            raise
        if pump.error is not None:
            raise pump.error
        if pump.stopped:
            return
        self._answer(call, [p.END, call.id])

    async def _stream(self, call: InCall, source: Any) -> None:
        """Streams an async iterable within its credit (sections 4.7, 4.12), then its end.

        To a batch peer, the items the source has ready at once (those it yields without
        waiting) go together in one message, after a first message of one item: each next item
        is run as far as it goes without waiting; one that waits ends the message and is
        finished (awaited) after it is sent.
        """
        if not hasattr(source, "__anext__"):
            await self._pump(call, source)
            return
        ident = call.id
        sent_at = time.monotonic()
        credit = call.credit
        assert credit is not None
        carried: list[Any] = []  # an item pulled while the previous message went out
        sent_items = sent_bytes = 0
        ended = False
        while not ended:
            await credit.wait(self.loop, lambda: False)
            if self.write_paused:
                await self.drain()
            if carried:
                batch = carried
                carried = []
            else:
                try:
                    batch = [await source.__anext__()]
                except StopAsyncIteration:
                    break
            failure: BaseException | None = None
            waiting: Any = None
            if self.batch and sent_items:
                room = credit.items
                if credit.byte_window:
                    room = min(room, max(1, credit.bytes // max(1, sent_bytes // sent_items)))
                while len(batch) < room:
                    step = source.__anext__()
                    try:
                        yielded = step.send(None)
                    except StopIteration as stop:
                        batch.append(stop.value)
                        continue
                    except StopAsyncIteration:
                        ended = True
                        break
                    except Exception as error:
                        failure = error
                        break
                    waiting = (step, yielded)
                    break
            if self.running.get(ident) is not call or self.state != OPEN:
                if waiting is not None:
                    await _finish_step(*waiting)
                return
            size = self.send_items(ident, batch)
            credit.items -= len(batch)
            if credit.byte_window:
                credit.bytes -= size
            sent_items += len(batch)
            sent_bytes += size
            if failure is not None:
                raise failure
            if waiting is not None:
                try:
                    carried = [await _finish_step(*waiting)]
                except StopAsyncIteration:
                    break
            now = time.monotonic()
            if now - sent_at > 0.004:
                sent_at = now
                await asyncio.sleep(0)  # let other connections' work run
        self._answer(call, [p.END, ident])


async def _finish_step(step: Any, yielded: Any) -> Any:
    """Awaits an ``__anext__()`` that was run until it waited (``yielded`` what it waits on).

    This does what an asyncio task does for a coroutine: wait for the future it yielded, then
    resume it; a cancel of this task cancels that future, so the source sees it where it waits.
    """
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                yielded._asyncio_future_blocking = False
                await asyncio.wait((yielded,))
        except asyncio.CancelledError:
            if yielded is not None:
                yielded.cancel()
            else:
                yielded = step.throw(asyncio.CancelledError())
                continue
        try:
            yielded = step.send(None)
        except StopIteration as stop:
            return stop.value


def registry_executor(registry: Registry | None) -> Executor | None:
    return registry.executor if registry is not None else None


def _is_stream(value: Any) -> bool:
    if hasattr(value, "__anext__"):
        return True
    import types

    return isinstance(value, (types.GeneratorType,)) or (
        hasattr(value, "__next__") and not isinstance(value, (str, bytes, list, tuple, dict))
    )


async def _close_source(source: Any, registry: Registry | None) -> None:
    try:
        if hasattr(source, "aclose"):
            await source.aclose()
        elif hasattr(source, "close"):
            await asyncio.get_running_loop().run_in_executor(registry_executor(registry), source.close)
    except Exception:
        pass
