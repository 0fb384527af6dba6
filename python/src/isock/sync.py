"""The seed's synchronous API: :class:`Server` and :class:`Client`, with threads, like SocketServer.

Each runs the asyncio implementation (``isock.aio``) on an event loop of its own thread:
a ``Client``'s calls are made from any thread and wait for their answer; a ``Server``'s
``serve_forever`` runs its loop until ``shutdown``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import threading
from typing import Any, Callable, Coroutine, Iterator, TypeVar

from . import aio
from .aio._connection import OPEN
from .errors import IsockError

__all__ = ["Client", "Server"]

T = TypeVar("T")


class _LoopThread:
    """An event loop running in a daemon thread, for one client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="isock-client", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Client:
    """A synchronous isock client (the seed's ``Client``): calls block until their answer.

    :param host: the server's host. :param port: its port.
    :param retry: connection tries before ``ClientException`` ``CONNECT_FAILED`` (3), spaced by a backoff.
    :param timeout: seconds each call may take (``None``: no limit); then ``IsockError`` ``TIMEOUT``.
    :param secret: the server's shared secret. :param tls: an ``ssl.SSLContext``.
    :param path: a Unix socket path to connect to instead of ``host`` and ``port``.
    :param credentials: what to send to the server's ``authenticate`` (a token, say).
    Other keyword options as :class:`isock.aio.Client`.

    The connection opens on the first call (or :meth:`connect`) and is shared by every thread
    using the client. :meth:`add_action` offers actions the server may call back.

    >>> client = Client("127.0.0.1", 4440, retry=3)
    >>> client.close()
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        retry: int = 3,
        timeout: float | None = None,
        secret: str | bytes | None = None,
        tls: ssl.SSLContext | None = None,
        **options: Any,
    ) -> None:
        self._client = aio.Client(host, port, retry, timeout, secret, tls, **options)
        self._thread: _LoopThread | None = None
        self._lock = threading.Lock()

    def _loop(self) -> _LoopThread:
        thread = self._thread
        if thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = _LoopThread()
                thread = self._thread
        return thread

    def add_action(self, action: Any, function: Callable[..., Any] | None = None, **options: Any) -> "Client":
        """Offers an action the server's handlers may call (two-way calls; see :meth:`isock.aio.Client.add_action`)."""
        self._client.add_action(action, function, **options)
        return self

    addAction = add_action

    def connect(self) -> None:
        """Connects now: a client that offers actions can then be called before its first call."""
        self._loop().run(self._client.connect())

    def runAction(
        self,
        action: Any,
        data: Any = None,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
        on_response_metadata: Callable[[dict[str, str]], None] | None = None,
    ) -> Any:
        """Runs an action (a name or an ``Action`` class) on the server; returns its result.

        ``data`` that is an iterator is sent as an upload (an input stream);
        ``on_response_metadata`` is called (in the client's thread) with the answer's metadata.

        :raises RemoteError: the action raised (``ACTION_FAILED``), or the server refused the call.
        :raises ClientException: ``CONNECT_FAILED`` after ``retry`` tries.
        :raises IsockError: ``TIMEOUT`` (the server is sent a cancel).
        """
        loop = self._loop()
        connection = self._client._connection
        if (
            connection is None
            or connection.state != OPEN
            or connection.closing
            or on_response_metadata is not None
            or aio._is_upload(data)
        ):
            return loop.run(self._client.run_action(action, data, timeout, metadata, on_response_metadata))
        return self._quick_call(loop.loop, connection, action, data, timeout, metadata)

    run_action = runAction

    def _quick_call(
        self,
        loop: asyncio.AbstractEventLoop,
        connection: Any,
        action: Any,
        data: Any,
        timeout: float | None,
        metadata: dict[str, str] | None,
    ) -> Any:
        """A call on an open connection: encoded and, when it can be, written in this thread.

        The same call as ``aio.Client.run_action``, without a task: this thread writes the
        request to the socket itself when nothing else is being written (else the loop sends
        it), the loop reads the answer, and this thread waits on a lock that the answer
        releases. A call written here costs one wake-up of each thread, not two.
        """
        name, timeout, meta = self._client._call_parts(action, timeout, metadata)
        prepared = connection.prepare(data)
        done = threading.Lock()
        done.acquire()
        call = connection.write_call_from_thread(name, prepared, meta, done.release)
        calls: list[Any] = []
        failure: list[BaseException] = []
        if call is None:

            def start() -> None:
                try:
                    started = connection.start_call(name, prepared, meta, prepared=True)
                except BaseException as error:
                    failure.append(error)
                    done.release()
                    return
                calls.append(started)
                if started.future.done():
                    done.release()
                else:
                    started.notify = done.release

            loop.call_soon_threadsafe(start)
        else:
            calls.append(call)
        if not done.acquire(timeout=-1 if timeout is None else timeout):

            def give_up() -> None:
                if calls and not calls[0].future.done():
                    connection.cancel_call(calls[0])

            loop.call_soon_threadsafe(give_up)
            if not done.acquire(timeout=0.05):
                raise IsockError("TIMEOUT", f'"{name}" got no answer within {timeout} s')
        if failure:
            raise failure[0]
        return calls[0].future.result()

    def stream(
        self,
        action: Any,
        data: Any = None,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
        window: int | None = None,
        on_response_metadata: Callable[[dict[str, str]], None] | None = None,
    ) -> Iterator[Any]:
        """The items of a streaming action, in order; leaving the loop early cancels the stream.

        ``window`` is the credit (as :meth:`isock.aio.Client.stream`); an iterator as ``data``
        is sent as an upload. A stream of tracked items resumes after a dropped connection.
        """
        loop = self._loop()
        stream = loop.run(self._client._start_stream(action, data, timeout, metadata, window, on_response_metadata))
        try:
            while True:
                try:
                    batch = loop.run(stream.next_items())
                except StopAsyncIteration:
                    return
                yield from batch
        finally:
            if self._thread is loop and not loop.loop.is_closed():
                loop.loop.call_soon_threadsafe(stream.stop)

    def describe(self) -> dict[str, Any]:
        """The server's actions (``$isock.describe``)."""
        return self._loop().run(self._client.describe())

    def close(self) -> None:
        """Closes the connection and the client's thread."""
        thread, self._thread = self._thread, None
        if thread is not None:
            try:
                thread.run(self._client.close())
            finally:
                thread.stop()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        thread = getattr(self, "_thread", None)
        if thread is not None and thread.loop.is_running():
            thread.loop.call_soon_threadsafe(thread.loop.stop)


class Server:
    """A synchronous isock server (the seed's ``Server``), bound at construction.

    :param host: the address to listen on. :param port: its port; 0 picks a free one,
        and ``server.port`` is the bound port at once.
    :param secret: a shared secret clients must know. :param tls: an ``ssl.SSLContext``.
    :param path: a Unix socket path to listen on instead of ``host`` and ``port``.
    :param authenticate: ``(peer, credentials) -> identity``, as :class:`isock.aio.Server`.
    Other keyword options as :class:`isock.aio.Server`.

    >>> server = Server("127.0.0.1", 0)
    >>> server.port > 0
    True
    >>> server.server_close()
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        secret: str | bytes | None = None,
        tls: ssl.SSLContext | None = None,
        *,
        path: str | None = None,
        **options: Any,
    ) -> None:
        self.path = path
        if path is not None:
            if host is not None or port is not None:
                raise IsockError("INVALID_ARGUMENT", "a server listens on a host and port, or on a path, not both")
            self._sock = aio.bind_unix_socket(path)
            self.port: int | None = None
            self.host: str | None = None
            self._server = aio.Server(secret=secret, tls=tls, path=path, sock=self._sock, **options)
        else:
            host = "127.0.0.1" if host is None else host
            self._sock = aio.bind_socket(host, 0 if port is None else port)
            self.port = self._sock.getsockname()[1]
            self.host = host
            self._server = aio.Server(host, self.port, secret, tls, sock=self._sock, **options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stopped = threading.Event()
        self._shutdown_asked = False

    def addAction(self, action: Any, function: Callable[..., Any] | None = None, **options: Any) -> "Server":
        """Offers an action (an ``Action`` instance, or a name and a function; ``input=`` a check of its data)."""
        self._server.add_action(action, function, **options)
        return self

    add_action = addAction

    def serve_forever(self) -> None:
        """Serves until :meth:`shutdown` is called from another thread."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            if self._shutdown_asked:
                return
            loop.run_until_complete(self._server.start())
            self._started.set()
            loop.run_until_complete(self._server.serve_forever())
        finally:
            self._started.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self._stopped.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stops serving: running calls finish first (up to ``timeout`` s); returns once stopped."""
        self._shutdown_asked = True
        if self._loop is None:
            return
        self._started.wait()
        loop = self._loop
        if loop.is_closed():
            return
        try:
            future = asyncio.run_coroutine_threadsafe(self._server.shutdown(timeout), loop)
            future.result(timeout + 5)
        except (RuntimeError, concurrent.futures.CancelledError):
            pass
        self._stopped.wait(timeout + 5)

    @property
    def peers(self) -> list[aio.Peer]:
        """The clients connected now (see :attr:`isock.aio.Server.peers`); call them from the loop's handlers."""
        return self._server.peers

    def server_close(self) -> None:
        """Closes the listening socket (and removes a Unix socket's file)."""
        self._sock.close()
        if self.path is not None:
            aio.remove_socket_file(self.path)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and not self._stopped.is_set():
            self.shutdown()
        self.server_close()
