"""isock on asyncio: a :class:`Client` with many calls in flight on one connection, and a :class:`Server`.

>>> import asyncio
>>> from isock import Action
>>> class Echo(Action):
...     name = "echo"
...     async def action(self, data):
...         return data
>>> async def main():
...     server = Server("127.0.0.1", 0)
...     server.add_action(Echo())
...     await server.start()
...     async with Client("127.0.0.1", server.port) as client:
...         answers = await asyncio.gather(*(client.run_action("echo", i) for i in range(3)))
...     await server.shutdown()
...     return answers
>>> asyncio.run(main())
[0, 1, 2]
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import stat
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Sequence

from .. import protocol as p
from ..action import Context, Handler, action_name, make_handler
from ..codec import Extension
from ..errors import ClientException, IsockError
from ._connection import Connection, Options, Registry
from ._peer import OnMetadata, Peer, Stream, call_meta, is_upload, iterate, run_call

__all__ = ["Client", "Server", "Context", "Peer"]

_is_upload = is_upload


class Actions(Registry):
    """The actions one side offers, by name, and the threads their plain handlers run in."""

    def __init__(self, max_workers: int = 32) -> None:
        self.handlers: dict[str, Handler] = {}
        self.max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self.closing = False

    @property
    def executor(self) -> ThreadPoolExecutor:  # type: ignore[override]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="isock-action")
        return self._executor

    def add_action(
        self,
        action: Any,
        function: Callable[..., Any] | None = None,
        *,
        input: Callable[[Any], Any] | None = None,
    ) -> None:
        handler = make_handler(action, function, input)
        if handler.name in self.handlers:
            raise IsockError("INVALID_ARGUMENT", f'an action named "{handler.name}" is already offered')
        self.handlers[handler.name] = handler

    def describe(self) -> dict[str, Any]:
        return {
            "version": 1,
            "actions": [
                {
                    "name": handler.name,
                    "idempotent": handler.idempotent,
                    "streams": handler.streams,
                    "inputStream": handler.input is None,
                }
                for handler in self.handlers.values()
            ],
        }

    def stop(self) -> None:
        self.closing = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def _backoff(attempt: int) -> float:
    return min(0.05 * (2**attempt), 1.0)


class Client:
    """An isock client on asyncio: one connection, opened on the first call, many calls at once.

    :param host: the server's host name or address.
    :param port: its port.
    :param retry: how many times to try connecting before ``ClientException`` ``CONNECT_FAILED``;
        tries are spaced by a backoff (50 ms, doubling, at most 1 s). A certificate the client
        does not accept fails at once with ``TLS_FAILED``.
    :param timeout: seconds each call may take by default (``None``: no limit); a call that takes
        longer raises ``IsockError`` ``TIMEOUT`` and sends the server a cancel.
    :param secret: the shared secret (str or bytes) of a server that requires one.
    :param tls: an ``ssl.SSLContext`` to connect over TLS.
    :param server_hostname: the name to check the server's certificate against (default ``host``).
    :param max_frame_size: the largest frame this client accepts (64 MiB).
    :param heartbeat: seconds between pings (10); the server is taken for dead after three silent ones.
    :param connect_timeout: seconds for connecting and the handshake (10).
    :param extensions: your classes (:class:`isock.Extension`).

    >>> client = Client("127.0.0.1", 4440, retry=3, timeout=5)
    >>> client.timeout
    5
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        retry: int = 3,
        timeout: float | None = None,
        secret: str | bytes | None = None,
        tls: ssl.SSLContext | None = None,
        *,
        path: str | None = None,
        credentials: Any = None,
        server_hostname: str | None = None,
        max_frame_size: int = p.DEFAULT_MAX_FRAME_SIZE,
        heartbeat: float = 10.0,
        connect_timeout: float = 10.0,
        extensions: Sequence[Extension] = (),
        max_in_flight: int = 1000,
    ) -> None:
        if retry < 1:
            raise IsockError("INVALID_ARGUMENT", "retry is at least 1")
        if path is not None and (host is not None or port is not None):
            raise IsockError("INVALID_ARGUMENT", "a client connects to a host and port, or to a path, not both")
        if path is None and (host is None or port is None):
            raise IsockError("INVALID_ARGUMENT", "a client needs a host and a port, or a path")
        self.host = host
        self.port = port
        self.path = path
        self.retry = retry
        self.timeout = timeout
        self.tls = tls
        self.server_hostname = server_hostname
        self.connect_timeout = connect_timeout
        self.options = Options(
            max_frame_size=max_frame_size,
            heartbeat=heartbeat,
            handshake_timeout=connect_timeout,
            extensions=tuple(extensions),
            secret=p.secret_bytes(secret),
            credentials=credentials,
            max_in_flight=max_in_flight,
        )
        self._actions: Actions | None = None
        self._connection: Connection | None = None
        self._connecting: asyncio.Lock | None = None
        self._closed = False

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def add_action(
        self,
        action: Any,
        function: Callable[..., Any] | None = None,
        *,
        input: Callable[[Any], Any] | None = None,
    ) -> "Client":
        """Offers an action to the server (two-way calls): its handlers call it through ``context.peer``.

        Add actions before connecting: the client's hello tells the server it serves, so the
        server does not close its connection for being idle. Plain handlers run in threads of
        the client's own.

        :raises IsockError: ``INVALID_ARGUMENT`` for a name taken or reserved.
        """
        if self._actions is None:
            self._actions = Actions()
        self._actions.add_action(action, function, input=input)
        return self

    addAction = add_action

    async def connect(self) -> None:
        """Connects now (calls connect by themselves when needed): a client that offers actions is then reachable."""
        await self._ready()

    @property
    def _where(self) -> str:
        return self.path if self.path is not None else f"{self.host}:{self.port}"

    async def _ready(self) -> Connection:
        connection = self._connection
        if connection is not None and connection.state == 2 and not connection.closing:
            return connection
        if self._closed:
            raise ClientException("CONNECTION_CLOSED", "the client is closed")
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            connection = self._connection
            if connection is not None and connection.state == 2 and not connection.closing:
                return connection
            self._connection = connection = await self._open()
            return connection

    async def _open(self) -> Connection:
        loop = asyncio.get_running_loop()
        last: BaseException | None = None
        for attempt in range(self.retry):
            if attempt:
                await asyncio.sleep(_backoff(attempt - 1))
            try:
                kwargs: dict[str, Any] = {}
                if self.tls is not None:
                    kwargs["ssl"] = self.tls
                    kwargs["server_hostname"] = self.server_hostname or self.host or "localhost"
                    kwargs["ssl_handshake_timeout"] = self.connect_timeout
                actions = self._actions

                def made() -> Connection:
                    return Connection(self.options, actions, is_server=False)

                if self.path is not None:
                    opening = loop.create_unix_connection(made, self.path, **kwargs)
                else:
                    opening = loop.create_connection(made, self.host, self.port, **kwargs)
                _transport, connection = await asyncio.wait_for(opening, self.connect_timeout)
                sock = _transport.get_extra_info("socket")
                if sock is not None:
                    try:
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    except OSError:
                        pass
                try:
                    await asyncio.wait_for(asyncio.shield(connection.ready), self.connect_timeout)
                except asyncio.TimeoutError:
                    connection.close(IsockError("TIMEOUT", "no handshake within the connect timeout"))
                    raise
                return connection
            except IsockError as error:
                if error.code in ("UNAUTHORIZED", "PROTOCOL", "FRAME_TOO_LARGE"):
                    raise IsockError(error.code, str(error)) from None
                last = error
            except ssl.SSLCertVerificationError as error:
                # Trying again would not change the certificate.
                raise ClientException("TLS_FAILED", f"the server's certificate was refused: {error}") from None
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as error:
                last = error
        raise ClientException(
            "CONNECT_FAILED",
            f"could not reach {self._where} after {self.retry} tries: {last or 'timed out'}",
        )

    def _call_parts(
        self, action: Any, timeout: float | None, metadata: dict[str, str] | None
    ) -> tuple[str, float | None, dict[str, Any]]:
        """A call's action name, its timeout (the client's by default) and its request metadata."""
        timeout = self.timeout if timeout is None else timeout
        return action_name(action), timeout, call_meta(timeout, metadata)

    async def run_action(
        self,
        action: Any,
        data: Any = None,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
        on_response_metadata: OnMetadata | None = None,
    ) -> Any:
        """Runs an action on the server and returns its result.

        :param action: its name, or an :class:`isock.Action` class (its ``name``, else its class name).
        :param data: the value to send; an iterator or async iterable is sent as an upload.
        :param timeout: seconds for this call (default: the client's ``timeout``).
        :param metadata: a dict of lowercase string keys to strings.
        :param on_response_metadata: called with the answer's metadata (the handler's
            ``context.response_metadata``) when it carries some.
        :raises RemoteError: when the action raised (``ACTION_FAILED``) or the server refused the call.
        :raises IsockError: ``TIMEOUT``; ``ClientException`` ``CONNECT_FAILED`` or ``CONNECTION_CLOSED``.
        """
        name, timeout, meta = self._call_parts(action, timeout, metadata)
        started = time.monotonic()
        connection = await self._ready()
        return await run_call(connection, name, data, meta, timeout, started, on_response_metadata)

    async def stream(
        self,
        action: Any,
        data: Any = None,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
        window: int | None = None,
        on_response_metadata: OnMetadata | None = None,
    ) -> AsyncIterator[Any]:
        """The items of a streaming action, as they come (``async for item in client.stream(...)``).

        Credit flow control: the server sends at most ``window`` items ahead of what this loop
        took (default 16; 1,024 items and 1 MiB from a server that takes batches). Leaving the
        loop early cancels the stream on the server. A plain result arrives as a stream of one
        item. ``timeout`` bounds the whole stream. A stream whose items the server tags with
        ``tracked(id, value)`` survives a dropped connection: the client reconnects (``retry``
        tries each time) and asks again from the last id it received, so the loop sees no gap
        and no duplicate; an untagged stream fails with ``CONNECTION_CLOSED``.
        """
        stream = await self._start_stream(action, data, timeout, metadata, window, on_response_metadata)
        async for item in iterate(stream):
            yield item

    async def _start_stream(
        self,
        action: Any,
        data: Any,
        timeout: float | None,
        metadata: dict[str, str] | None,
        window: int | None = None,
        on_response_metadata: OnMetadata | None = None,
    ) -> Stream:
        name, timeout, meta = self._call_parts(action, timeout, metadata)
        connection = await self._ready()
        return Stream(name, connection, data, meta, window, timeout, self._ready, on_response_metadata)

    async def describe(self) -> dict[str, Any]:
        """The server's description of its actions (``$isock.describe``): names, streams, schemas."""
        result: dict[str, Any] = await self.run_action("$isock.describe")
        return result

    async def close(self) -> None:
        """Closes the connection; calls still waiting fail with ``CONNECTION_CLOSED``."""
        self._closed = True
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
            await connection.closed
        if self._actions is not None:
            self._actions.stop()


def remove_socket_file(path: str) -> None:
    """Removes a Unix socket's file, if it is still a socket."""
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_unix_socket(path: str) -> socket.socket:
    """A listening Unix socket at ``path`` (a file there already is ``ADDR_IN_USE``)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(1024)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        code = "ADDR_IN_USE" if error.errno == errno.EADDRINUSE else "LISTEN_FAILED"
        raise IsockError(code, f"cannot listen on {path}: {error}") from None
    return sock


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host`` (its first IPv4 address, else IPv6) and ``port``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        raise IsockError("LISTEN_FAILED", f"cannot listen on {host}:{port}: {error}") from None
    return sock


class Server(Actions):
    """An isock server on asyncio.

    :param host: the address to listen on.
    :param port: the port; 0 picks a free one (``server.port`` after ``await server.start()``).
    :param secret: a shared secret clients must prove they know (str or bytes).
    :param tls: an ``ssl.SSLContext`` (with its certificate loaded) to serve over TLS.
    :param max_frame_size: the largest frame accepted (64 MiB).
    :param max_connections: connections at once; more are refused with ``OVERLOADED`` (10,000).
    :param max_in_flight: requests running at once per connection; more are answered ``OVERLOADED`` (1,000).
    :param heartbeat: seconds between pings (10). :param idle_timeout: seconds (300) before an idle
        client is sent a goodbye. :param handshake_timeout: seconds for a client's hello (10).
    :param stacks: whether errors carry stack traces (default: only on a loopback address).
    :param max_workers: threads for handlers that are not ``async`` (32).
    :param path: listen on this Unix socket path instead of TCP (not with ``host``/``port``);
        the file is removed at shutdown.
    :param authenticate: ``(peer, credentials) -> identity`` (or ``async``): checks what each
        client sends as ``credentials``; raising, or returning ``None`` or ``False``, refuses it
        (goodbye ``UNAUTHORIZED``). Handlers see the identity as ``context.identity``.

    Handlers may be ``def`` (run in a thread), generators (stream, pulled in a thread),
    ``async def`` or async generators; all may take a second argument, the :class:`Context`.
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        secret: str | bytes | None = None,
        tls: ssl.SSLContext | None = None,
        *,
        path: str | None = None,
        authenticate: Callable[[Peer, Any], Any] | None = None,
        max_frame_size: int = p.DEFAULT_MAX_FRAME_SIZE,
        max_connections: int = 10_000,
        max_in_flight: int = 1000,
        heartbeat: float = 10.0,
        idle_timeout: float | None = 300.0,
        handshake_timeout: float = 10.0,
        stacks: bool | None = None,
        max_workers: int = 32,
        extensions: Sequence[Extension] = (),
        sock: socket.socket | None = None,
    ) -> None:
        super().__init__(max_workers)
        if path is not None and (host is not None or port is not None):
            raise IsockError("INVALID_ARGUMENT", "a server listens on a host and port, or on a path, not both")
        if path is None:
            host = "127.0.0.1" if host is None else host
            port = 0 if port is None else port
        self.host = host
        self.port = port
        self.path = path
        self.tls = tls
        self.max_connections = max_connections
        self.options = Options(
            max_frame_size=max_frame_size,
            heartbeat=heartbeat,
            handshake_timeout=handshake_timeout,
            idle_timeout=idle_timeout,
            max_in_flight=max_in_flight,
            extensions=tuple(extensions),
            stacks=(path is not None or _is_loopback(host or "")) if stacks is None else stacks,
            secret=p.secret_bytes(secret),
            authenticate=authenticate,
        )
        self._sock = sock
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[Connection] = set()
        self._finished: asyncio.Future[None] | None = None

    def add_action(  # type: ignore[override]
        self,
        action: Any,
        function: Callable[..., Any] | None = None,
        *,
        input: Callable[[Any], Any] | None = None,
    ) -> "Server":
        """Offers an action: an :class:`isock.Action` instance, or a name and a function.

        ``input`` (or the action's ``input`` attribute) checks the data before the handler
        runs: a callable that raises, or returns a list of issues (strings, or
        ``{"message", "path"}`` dicts); either way the call is answered ``INVALID_INPUT`` with
        the issues, unrun. An action that checks its input takes no upload.

        :raises IsockError: ``INVALID_ARGUMENT`` for a name taken or reserved (``$isock.``).
        """
        super().add_action(action, function, input=input)
        return self

    addAction = add_action

    @property
    def peers(self) -> list[Peer]:
        """The clients connected now, whose actions the server may call (two-way calls)."""
        return [connection.peer for connection in self._connections if connection.state == 2]

    def _connection_made(self) -> Connection:
        connection = Connection(self.options, self, self._connections.discard)
        if len(self._connections) >= self.max_connections or self.closing:
            original = connection.connection_made

            def refuse(transport: asyncio.BaseTransport) -> None:
                original(transport)
                connection.goodbye("OVERLOADED", "too many connections")
                # Close once the client's hello had time to arrive: closing with unread
                # bytes would reset the connection before the client reads the goodbye.
                connection.refusing = True
                connection.loop.call_later(0.2, connection.close)

            connection.connection_made = refuse  # type: ignore[method-assign]
        else:
            self._connections.add(connection)
        return connection

    async def start(self) -> None:
        """Binds and starts accepting connections; then ``server.port`` is the bound port."""
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        sock = self._sock
        if sock is None:
            sock = bind_unix_socket(self.path) if self.path is not None else bind_socket(self.host or "", self.port or 0)
            self._sock = sock
        if self.path is not None:
            self._server = await loop.create_unix_server(self._connection_made, sock=sock, ssl=self.tls, backlog=1024)
        else:
            self._server = await loop.create_server(self._connection_made, sock=sock, ssl=self.tls, backlog=1024)
            self.port = sock.getsockname()[1]

    async def serve_forever(self) -> None:
        """Serves until :meth:`shutdown` (starting first when needed)."""
        if self._server is None:
            await self.start()
        assert self._finished is not None
        await self._finished

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Stops accepting, says goodbye to every client, lets running calls finish (up to ``timeout`` s), closes."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            if connection.state == 2:
                connection.said_goodbye = True
                connection.goodbye()
                if not connection.running:
                    connection.close()
            else:
                connection.close()
        deadline = time.monotonic() + timeout
        while any(connection.running for connection in self._connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self._connections):
            connection.close()
        if self._server is not None:
            await self._server.wait_closed()
        self.stop()
        if self.path is not None:
            remove_socket_file(self.path)
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    async def __aenter__(self) -> "Server":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.shutdown()
