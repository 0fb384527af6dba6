"""Python client benchmarks: isock against a TypeScript server, beside grpcio and Pyro echo servers in Python.

    python/.venv/bin/pip install -r python/requirements-bench.txt -r python/requirements-bench-pyro.txt
    python/.venv/bin/python python/bench.py [--seconds 3]

W1: sequential small calls (the synchronous client, one at a time).
W2: 64 calls in flight: from asyncio for isock (``isock.aio``) and grpcio (``grpc.aio``); Pyro has
no asyncio client and a proxy serves one thread at a time, so 64 threads with a proxy each (its
batches are one request carrying many calls, not calls in flight).

Each server runs in its own process: isock's on Deno (python/tests/ts/server.ts), the others
in Python. The Pyro row uses Pyro5 when this Python imports it, else Pyro4 (Pyro5's predecessor:
the same daemon, proxies and serpent serializer); where this Python has neither, it runs server
and client on ``--pyro-python`` (/usr/bin/python3, where Debian's ``python3-pyro4`` installs
Pyro4). A library that is not installed is reported and skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
from typing import Any, Callable

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "tests"))
PAYLOAD = {"id": 1, "name": "small", "tags": ["a", "b"]}
IN_FLIGHT = 64


def rate(run_for: float, one: Callable[[], Any]) -> float:
    """Calls per second of ``one`` over ``run_for`` seconds, after a short warm-up."""
    for _ in range(200):
        one()
    count = 0
    started = time.perf_counter()
    deadline = started + run_for
    while time.perf_counter() < deadline:
        for _ in range(100):
            one()
        count += 100
    return count / (time.perf_counter() - started)


async def rate_async(run_for: float, one: Callable[[], Any]) -> float:
    """Calls per second with ``IN_FLIGHT`` workers each awaiting ``one()`` in a loop."""
    count = 0
    stop = time.perf_counter() + 0.3

    async def worker(until: float) -> int:
        done = 0
        while time.perf_counter() < until:
            await one()
            done += 1
        return done

    await asyncio.gather(*(worker(stop) for _ in range(IN_FLIGHT)))
    started = time.perf_counter()
    counts = await asyncio.gather(*(worker(started + run_for) for _ in range(IN_FLIGHT)))
    count = sum(counts)
    return count / (time.perf_counter() - started)


# -- isock -------------------------------------------------------------------------


def bench_isock(run_for: float) -> tuple[float, float]:
    import isock
    from conftest import TS, TsProcess

    server = TsProcess("deno", TS / "server.ts", [])
    try:
        with isock.Client("127.0.0.1", server.port) as client:
            w1 = rate(run_for, lambda: client.runAction("echo", PAYLOAD))

        async def w2() -> float:
            async with isock.aio.Client("127.0.0.1", server.port) as client:
                return await rate_async(run_for, lambda: client.run_action("echo", PAYLOAD))

        return w1, asyncio.run(w2())
    finally:
        server.stop()


# -- grpcio --------------------------------------------------------------------------


def grpc_server() -> None:
    """An echo server: one unary method with MessagePack bodies (as isock carries them)."""
    from concurrent import futures

    import grpc

    def echo(request: bytes, context: Any) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening on {port}", flush=True)
    sys.stdin.read()
    server.stop(1)


def start_python_server(kind: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, __file__, f"--{kind}-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the {kind} server did not start: {line!r}")
    return process, int(line.split()[2])


def stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bench_grpc(run_for: float) -> tuple[float, float]:
    import grpc
    import grpc.aio
    import msgpack

    process, port = start_python_server("grpc")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary("/bench.Echo/Echo")
            w1 = rate(run_for, lambda: msgpack.unpackb(call(msgpack.packb(PAYLOAD))))

        async def w2() -> float:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                method = channel.unary_unary("/bench.Echo/Echo")

                async def one() -> Any:
                    return msgpack.unpackb(await method(msgpack.packb(PAYLOAD)))

                return await rate_async(run_for, one)

        return w1, asyncio.run(w2())
    finally:
        stop(process)


# -- Pyro ----------------------------------------------------------------------------

# Debian's python3-pyro4 installs Pyro4 for the system Python only; the row runs there (server and
# client) when this Python imports neither Pyro5 nor Pyro4.
PYRO_PYTHON = "/usr/bin/python3"


def pyro_api() -> tuple[str, Any]:
    """The Pyro library to bench and its module: Pyro5 when importable, else its predecessor Pyro4.

    Both have ``Daemon``, ``Proxy``, ``expose`` and ``config`` with the same meaning (a daemon with
    a thread per connection, a proxy holding one connection, the serpent serializer)."""
    try:
        import Pyro5
        import Pyro5.api

        return f"Pyro5 {Pyro5.__version__}", Pyro5.api
    except ImportError:
        import Pyro4

        return f"Pyro4 {Pyro4.__version__}", Pyro4


def pyro_server() -> None:
    _, api = pyro_api()

    @api.expose
    class Echo:
        def echo(self, data: Any) -> Any:
            return data

    # A worker thread per connection: Pyro4's default pool (40) refuses the 41st proxy.
    api.config.THREADPOOL_SIZE = IN_FLIGHT + 8
    daemon = api.Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(Echo, "echo")
    print(f"listening on {uri.port}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), daemon.shutdown()), daemon=True).start()
    daemon.requestLoop()


def pyro_in_flight(api: Any, uri: str, run_for: float) -> float:
    """Calls per second from ``IN_FLIGHT`` threads, each with its own proxy (a Pyro proxy serves one
    thread at a time), timed from when all of them are connected and warm."""
    counts = [0] * IN_FLIGHT
    failures: list[BaseException] = []
    clock: dict[str, float] = {}

    def begin() -> None:
        clock["started"] = time.perf_counter()
        clock["until"] = clock["started"] + run_for

    ready = threading.Barrier(IN_FLIGHT, action=begin, timeout=30)

    def worker(index: int) -> None:
        try:
            with api.Proxy(uri) as proxy:
                proxy._pyroTimeout = 10
                for _ in range(20):
                    proxy.echo(PAYLOAD)
                ready.wait()
                done = 0
                while time.perf_counter() < clock["until"]:
                    proxy.echo(PAYLOAD)
                    done += 1
                counts[index] = done
        except BaseException as error:  # reported below, after every thread has ended
            failures.append(error)
            ready.abort()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(IN_FLIGHT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} Pyro client threads failed") from failures[0]
    return sum(counts) / (time.perf_counter() - clock["started"])


def bench_pyro(run_for: float) -> tuple[float, float]:
    _, api = pyro_api()
    process, port = start_python_server("pyro")
    uri = f"PYRO:echo@127.0.0.1:{port}"
    try:
        with api.Proxy(uri) as proxy:
            proxy._pyroTimeout = 10
            w1 = rate(run_for, lambda: proxy.echo(PAYLOAD))
        return w1, pyro_in_flight(api, uri, run_for)
    finally:
        stop(process)


def pyro_client(run_for: float) -> None:
    """The Pyro row in this interpreter, printed as one JSON line for :func:`bench_pyro_elsewhere`."""
    library, _ = pyro_api()
    w1, w2 = bench_pyro(run_for)
    print(json.dumps({"library": library, "python": sys.version.split()[0], "w1": w1, "w2": w2}), flush=True)


def bench_pyro_elsewhere(run_for: float, python: str) -> dict[str, Any] | None:
    """The Pyro row run by ``python`` (server and client), or ``None`` when it has no Pyro either."""
    if not os.path.exists(python) or os.path.realpath(python) == os.path.realpath(sys.executable):
        return None
    has = subprocess.run([python, "-c", "import Pyro5.api"], capture_output=True, timeout=30).returncode == 0
    has = has or subprocess.run([python, "-c", "import Pyro4"], capture_output=True, timeout=30).returncode == 0
    if not has:
        return None
    # Two timed phases plus warm-ups and start-ups; past this the client is killed, which closes
    # its server's stdin, so the server stops too.
    done = subprocess.run(
        [python, __file__, "--pyro-client", "--seconds", str(run_for)],
        stdout=subprocess.PIPE,
        text=True,
        timeout=2 * run_for + 90,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long each workload runs (3)")
    parser.add_argument(
        "--pyro-python", default=PYRO_PYTHON, help=f"the Python for the Pyro row when this one has no Pyro ({PYRO_PYTHON})"
    )
    parser.add_argument("--grpc-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pyro-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pyro-client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.grpc_server:
        grpc_server()
        return
    if args.pyro_server:
        pyro_server()
        return
    if args.pyro_client:
        pyro_client(args.seconds)
        return
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; payload {PAYLOAD}; {args.seconds} s a workload")
    print(f"{'library':<28} {'W1 calls/s':>12} {'W2 calls/s':>12}")
    for label, bench, module in [
        ("isock (TypeScript server)", bench_isock, "isock"),
        ("grpcio (Python server)", bench_grpc, "grpc"),
    ]:
        try:
            __import__(module)
        except ImportError:
            print(f"{label:<28} {'not installed':>25}")
            continue
        w1, w2 = bench(args.seconds)
        print(f"{label:<28} {w1:>12,.0f} {w2:>12,.0f}")
    note = ""
    try:
        library, _ = pyro_api()
    except ImportError:
        library = ""
    if library:
        w1, w2 = bench_pyro(args.seconds)
    else:
        elsewhere = bench_pyro_elsewhere(args.seconds, args.pyro_python)
        if elsewhere is None:
            print(f"{'Pyro (Python server)':<28} {'not installed':>25}")
            return
        library, w1, w2 = elsewhere["library"], elsewhere["w1"], elsewhere["w2"]
        note = f"{library}: server and client on {args.pyro_python} (Python {elsewhere['python']})"
    print(f"{library + ' (Python server)':<28} {w1:>12,.0f} {w2:>12,.0f}")
    if note:
        print(note)


if __name__ == "__main__":
    main()
