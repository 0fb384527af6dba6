"""Fixtures: TypeScript servers on Deno, Node and Bun, started as subprocesses and always stopped."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import threading
from typing import Callable, Iterator

import pytest

import isock

ROOT = pathlib.Path(__file__).resolve().parents[2]
TS = pathlib.Path(__file__).resolve().parent / "ts"
BIN = ROOT / "tests" / "runtimes" / "node_modules" / ".bin"
TLS = ROOT / "tests" / "fixtures" / "tls"
START_TIMEOUT = 90.0


def _deno() -> str:
    found = os.environ.get("DENO") or shutil.which("deno")
    if not found:
        raise RuntimeError("deno is not on PATH (the TypeScript servers of these tests run on it)")
    return found


def runtime_command(runtime: str, script: pathlib.Path, args: list[str]) -> tuple[list[str], pathlib.Path]:
    """The command that runs a TypeScript program on Deno, Node (through tsx) or Bun, and its folder."""
    if runtime == "deno":
        return [_deno(), "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", str(script), *args], ROOT
    for tool in ("tsx", "bun"):
        if not (BIN / tool).exists():
            raise RuntimeError(f"{tool} is not installed: run `npm ci --prefix tests/runtimes` (.ci/run does)")
    if runtime == "node":
        return ["node", "--import", "tsx", str(script), *args], ROOT / "tests" / "runtimes"
    return [str(BIN / "bun"), str(script), *args], ROOT / "tests" / "runtimes"


class TsProcess:
    """A TypeScript program that printed ``listening on <port>``; stopped by :meth:`stop`."""

    def __init__(self, runtime: str, script: pathlib.Path, args: list[str]) -> None:
        command, cwd = runtime_command(runtime, script, args)
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        self.lines: list[str] = []
        self.port = 0
        self.path = ""  # a Unix socket path, when it listens on one
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)
                if line.startswith("listening on ") and not ready.is_set():
                    where = line.split()[2]
                    if where.isdigit():
                        self.port = int(where)
                    else:
                        self.path = where
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(START_TIMEOUT) or not (self.port or self.path):
            self.stop()
            raise RuntimeError(f"{script.name} on {runtime} did not start:\n{self.output()}")

    def output(self) -> str:
        stderr = ""
        if self.process.poll() is not None and self.process.stderr is not None:
            stderr = self.process.stderr.read()
        return "".join(self.lines) + stderr

    def stop(self) -> int:
        """Ends its stdin (it shuts down by itself), killing it after 10 s."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            return self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


@pytest.fixture
def ts_server() -> Iterator[Callable[..., TsProcess]]:
    """Starts ``python/tests/ts/server.ts`` on a runtime: ``ts_server("node", "--secret", "s")``."""
    started: list[TsProcess] = []

    def start(runtime: str = "deno", *args: str) -> TsProcess:
        process = TsProcess(runtime, TS / "server.ts", list(args))
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def deno_server() -> Iterator[TsProcess]:
    """One TypeScript server on Deno shared by the tests that only call it."""
    process = TsProcess("deno", TS / "server.ts", [])
    yield process
    process.stop()


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_tls() -> ssl.SSLContext:
    """A client TLS context trusting the test certificate."""
    return ssl.create_default_context(cafile=str(TLS / "cert.pem"))


def server_tls() -> ssl.SSLContext:
    """A server TLS context with the test certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(TLS / "cert.pem"), str(TLS / "key.pem"))
    return context


class CuttingProxy:
    """A TCP proxy to ``127.0.0.1:target`` that cuts its first ``cuts`` connections mid-stream.

    Each of those is closed, both ways, once ``after`` bytes went from the server to the
    client; later connections pass whole. ``connections`` counts what it accepted.
    """

    def __init__(self, target: int, after: int, cuts: int = 1) -> None:
        self.target = target
        self.after = after
        self.cuts = cuts
        self.connections = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                down, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            limit = self.after if self.connections <= self.cuts else None
            try:
                up = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                down.close()
                continue
            self.sockets += [down, up]
            for source, sink, budget in ((down, up, None), (up, down, limit)):
                thread = threading.Thread(target=self._pipe, args=(source, sink, budget, (down, up)), daemon=True)
                self.threads.append(thread)
                thread.start()

    def _pipe(self, source: socket.socket, sink: socket.socket, budget: int | None, pair: tuple[socket.socket, socket.socket]) -> None:
        source.settimeout(0.2)
        try:
            while not self.stopped.is_set():
                try:
                    chunk = source.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                if budget is not None:
                    chunk = chunk[:budget]
                    budget -= len(chunk)
                sink.sendall(chunk)
                if budget == 0:
                    break
        except OSError:
            pass
        for sock in pair:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        for thread in self.threads:
            thread.join(5)
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def cutting_proxy() -> Iterator[Callable[..., CuttingProxy]]:
    """Starts :class:`CuttingProxy` instances, stopped at the end of the test."""
    started: list[CuttingProxy] = []

    def start(target: int, after: int, cuts: int = 1) -> CuttingProxy:
        proxy = CuttingProxy(target, after, cuts)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@contextlib.contextmanager
def serving(server: isock.Server) -> Iterator[isock.Server]:
    """Runs a sync Python server's ``serve_forever`` in a thread; shuts it down and joins the thread on exit."""
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown(2)
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()
