"""Python client benchmarks: isock against a TypeScript server, beside Pyro5 and grpcio echo servers in Python.

    python/.venv/bin/pip install -r python/requirements-bench.txt -r python/requirements-bench-pyro.txt
    python/.venv/bin/python python/bench.py [--seconds 3]

W1: sequential small calls (the synchronous client, one at a time).
W2: 64 calls in flight from asyncio (``isock.aio``; ``grpc.aio``; Pyro5 has no asyncio client,
so 64 threads with a proxy each).

Each server runs in its own process: isock's on Deno (python/tests/ts/server.ts), the others
in Python. A library that is not installed is reported and skipped.
"""

from __future__ import annotations

import argparse
import asyncio
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


# -- Pyro5 ----------------------------------------------------------------------------


def pyro_server() -> None:
    import Pyro5.api

    @Pyro5.api.expose
    class Echo:
        def echo(self, data: Any) -> Any:
            return data

    daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(Echo, "echo")
    print(f"listening on {uri.port}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), daemon.shutdown()), daemon=True).start()
    daemon.requestLoop()


def bench_pyro(run_for: float) -> tuple[float, float]:
    import Pyro5.api

    process, port = start_python_server("pyro")
    uri = f"PYRO:echo@127.0.0.1:{port}"
    try:
        with Pyro5.api.Proxy(uri) as proxy:
            w1 = rate(run_for, lambda: proxy.echo(PAYLOAD))
        count = [0]
        lock = threading.Lock()
        until = time.perf_counter() + run_for

        def worker() -> None:
            done = 0
            with Pyro5.api.Proxy(uri) as proxy:
                while time.perf_counter() < until:
                    proxy.echo(PAYLOAD)
                    done += 1
            with lock:
                count[0] += done

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(IN_FLIGHT)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return w1, count[0] / (time.perf_counter() - started)
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long each row runs (3)")
    parser.add_argument("--grpc-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pyro-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.grpc_server:
        grpc_server()
        return
    if args.pyro_server:
        pyro_server()
        return
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; payload {PAYLOAD}; {args.seconds} s a row")
    print(f"{'library':<28} {'W1 calls/s':>12} {'W2 calls/s':>12}")
    rows = [
        ("isock (TypeScript server)", bench_isock, "isock"),
        ("grpcio (Python server)", bench_grpc, "grpc"),
        ("Pyro5 (Python server)", bench_pyro, "Pyro5"),
    ]
    for label, bench, module in rows:
        try:
            __import__(module)
        except ImportError:
            print(f"{label:<28} {'not installed':>25}")
            continue
        w1, w2 = bench(args.seconds)
        print(f"{label:<28} {w1:>12,.0f} {w2:>12,.0f}")


if __name__ == "__main__":
    main()
