"""Calls made on one connection: a call's wait for its answer, a stream as its consumer takes it,
and :class:`Peer`, the other end of a connection as a handler calls it (two-way calls).

The client (``isock.aio.Client``) makes its calls through the same pieces, adding what only a
client does: connecting, and resuming a tracked stream on a new connection.
"""

from __future__ import annotations

import asyncio
import collections.abc
import threading
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable

from .. import protocol as p
from ..action import action_name
from ..errors import IsockError

if TYPE_CHECKING:
    from ._connection import Connection, OutCall

OnMetadata = Callable[[dict[str, str]], None]


def is_upload(data: Any) -> bool:
    """Whether ``data`` is sent as an input stream: an iterator or an async iterable."""
    if isinstance(data, (str, bytes, bytearray, memoryview, list, tuple, dict, set, frozenset)):
        return False
    return isinstance(data, (collections.abc.Iterator, collections.abc.AsyncIterable))


def call_meta(timeout: float | None, metadata: dict[str, str] | None) -> dict[str, Any]:
    """A request's ``meta`` (section 4.1): its timeout in ms and its metadata, keys in lowercase."""
    meta: dict[str, Any] = {}
    if timeout is not None:
        if timeout <= 0:
            raise IsockError("INVALID_ARGUMENT", "a timeout is a positive number of seconds")
        meta["timeout"] = max(1, int(timeout * 1000))
    if metadata:
        meta["metadata"] = p.check_metadata(
            {key.lower() if isinstance(key, str) else key: value for key, value in metadata.items()}
        )
    return meta


async def run_call(
    connection: "Connection",
    name: str,
    data: Any,
    meta: dict[str, Any],
    timeout: float | None,
    started: float,
    on_response_metadata: OnMetadata | None = None,
) -> Any:
    """Sends one call on ``connection`` and waits for its answer, at most until ``started + timeout``.

    A call given up (its timeout, or its task cancelled) sends the other side a cancel.
    """
    upload = is_upload(data)
    if upload:
        meta["input"] = True
    call = connection.start_call(name, data, meta, upload=upload, on_metadata=on_response_metadata)
    sender = asyncio.ensure_future(connection.send_inputs(call, data)) if upload else None
    try:
        if timeout is None:
            return await call.future
        left = timeout - (time.monotonic() - started)
        try:
            return await asyncio.wait_for(asyncio.shield(call.future), max(left, 0))
        except asyncio.TimeoutError:
            raise IsockError("TIMEOUT", f'"{name}" got no answer within {timeout} s') from None
    finally:
        if call.id in connection.calls:  # no answer yet: timed out or cancelled
            connection.cancel_call(call)
        if sender is not None and not sender.done():
            sender.cancel()


Reopen = Callable[[], Awaitable["Connection"]]


class Stream:
    """A stream call in progress, as its consumer takes it.

    With ``reopen`` (a client's), a stream whose items were tracked survives its connection:
    when it drops, the request goes again on a new connection with ``meta.lastEventId``, the
    id of the last item received (section 4.7), within what is left of the timeout.
    """

    def __init__(
        self,
        name: str,
        connection: "Connection",
        data: Any,
        meta: dict[str, Any],
        window: int | None,
        timeout: float | None,
        reopen: Reopen | None = None,
        on_response_metadata: OnMetadata | None = None,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.data = data
        self.meta = meta
        self.window = window
        self.reopen = reopen
        self.on_response_metadata = on_response_metadata
        self.upload = is_upload(data)
        if self.upload:
            meta["input"] = True
        self.connection = connection
        self.sender: asyncio.Future[None] | None = None
        self.call = self._start(connection)

    def _start(self, connection: "Connection") -> "OutCall":
        call = connection.start_call(
            self.name,
            self.data,
            dict(self.meta),
            stream=self.window or True,
            upload=self.upload,
            on_metadata=self.on_response_metadata,
        )
        if self.upload:
            self.sender = asyncio.ensure_future(connection.send_inputs(call, self.data))
        return call

    async def _resume(self, error: BaseException) -> bool:
        """After a drop: the same request on a new connection, after the last id received."""
        call = self.call
        if (
            self.reopen is None
            or self.upload
            or call.last_event_id is None
            or getattr(error, "code", None) != "CONNECTION_CLOSED"
        ):
            return False
        self.meta["lastEventId"] = call.last_event_id
        if self.deadline is None:
            connection = await self.reopen()
        else:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                connection = await asyncio.wait_for(self.reopen(), left)
            except asyncio.TimeoutError:
                raise IsockError("TIMEOUT", f'"{self.name}" did not end within {self.timeout} s') from None
            # The new request gets only the time that is left.
            self.meta["timeout"] = max(1, int((self.deadline - time.monotonic()) * 1000))
        self.connection = connection
        self.call = self._start(connection)
        self.call.last_event_id = call.last_event_id
        return True

    async def next_items(self, limit: int = 0) -> list[Any]:
        """The next items (``limit`` at most, or all that are here); ``StopAsyncIteration`` at the end."""
        while True:
            call = self.call
            items = self.connection.take(call, limit)
            if items:
                return items
            if call.done:
                if call.error is not None:
                    if await self._resume(call.error):
                        continue
                    raise call.error
                raise StopAsyncIteration
            call.waiter = self.connection.loop.create_future()
            if self.deadline is None:
                await call.waiter
            else:
                try:
                    await asyncio.wait_for(call.waiter, max(self.deadline - time.monotonic(), 0))
                except asyncio.TimeoutError:
                    self.stop()
                    raise IsockError("TIMEOUT", f'"{self.name}" did not end within {self.timeout} s') from None

    def stop(self) -> None:
        """Ends the stream early (a cancel to the other side) when it has not ended."""
        if not self.call.done:
            self.connection.cancel_call(self.call)
        if self.sender is not None and not self.sender.done():
            self.sender.cancel()


async def iterate(stream: Stream) -> AsyncIterator[Any]:
    """A stream's items one by one; leaving the loop early stops it."""
    try:
        while True:
            for item in await stream.next_items(1):
                yield item
    except StopAsyncIteration:
        return
    finally:
        stream.stop()


class Peer:
    """The other end of a connection, as a handler sees it (``context.peer``): call its actions.

    A server's handler calls the actions its client offers (``client.add_action``); a client's
    handler calls the server back. ``host`` and ``port`` are its address (``path`` for a Unix
    socket), ``identity`` what the server's ``authenticate`` said of the client.

    >>> import asyncio
    >>> from isock import Action
    >>> from isock.aio import Client, Server
    >>> class Confirm(Action):
    ...     name = "confirm"
    ...     def action(self, question):
    ...         return question.endswith("?")
    >>> class Remove(Action):
    ...     name = "remove"
    ...     async def action(self, path, context):
    ...         sure = await context.peer.run_action("confirm", f"Delete {path}?", timeout=30)
    ...         return "deleted" if sure else "kept"
    >>> async def main():
    ...     async with Server("127.0.0.1", 0) as server:
    ...         server.add_action(Remove())
    ...         async with Client("127.0.0.1", server.port) as client:
    ...             client.add_action(Confirm())
    ...             return await client.run_action("remove", "/tmp/old.log")
    >>> asyncio.run(main())
    'deleted'
    """

    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    @property
    def host(self) -> str | None:
        """The peer's address (``None`` over a Unix socket)."""
        address = self._connection.address
        return address[0] if isinstance(address, tuple) else None

    @property
    def port(self) -> int | None:
        """The peer's port (``None`` over a Unix socket)."""
        address = self._connection.address
        return address[1] if isinstance(address, tuple) else None

    @property
    def identity(self) -> Any:
        """What the server's ``authenticate`` returned for this client (``None`` without one)."""
        return self._connection.identity

    @property
    def is_connected(self) -> bool:
        """Whether the connection is still open."""
        return self._connection.state == 2

    async def run_action(
        self,
        action: Any,
        data: Any = None,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
        on_response_metadata: OnMetadata | None = None,
    ) -> Any:
        """Runs one of the peer's actions and returns its result (as ``Client.run_action``).

        :raises RemoteError: the action raised, or the peer offers no such action (``UNKNOWN_ACTION``).
        :raises ClientException: ``CONNECTION_CLOSED`` when the connection is gone.
        :raises IsockError: ``TIMEOUT`` (the peer is sent a cancel).
        """
        return await run_call(
            self._connection,
            action_name(action),
            data,
            call_meta(timeout, metadata),
            timeout,
            time.monotonic(),
            on_response_metadata,
        )

    def run_action_sync(
        self,
        action: Any,
        data: Any = None,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Any:
        """:meth:`run_action` from a handler running in a thread (a plain ``def``): blocks until the answer."""
        loop = self._connection.loop
        if _runs_loop(loop):
            raise IsockError("INVALID_ARGUMENT", "run_action_sync blocks: await run_action in the event loop")
        return asyncio.run_coroutine_threadsafe(self.run_action(action, data, timeout, metadata), loop).result()

    async def stream(
        self,
        action: Any,
        data: Any = None,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
        window: int | None = None,
    ) -> AsyncIterator[Any]:
        """The items of one of the peer's streaming actions (as ``Client.stream``)."""
        stream = Stream(action_name(action), self._connection, data, call_meta(timeout, metadata), window, timeout)
        async for item in iterate(stream):
            yield item


def _runs_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return getattr(loop, "_thread_id", None) == threading.get_ident()
