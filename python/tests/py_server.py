"""A Python server for the TypeScript tests (tests/python_test.ts) and the bad-input tests.

    python py_server.py [--port N | --path P] [--secret S] [--tls] [--authenticate]
        [--handshake-timeout S] [--max-in-flight N]

It prints "listening on <port>" (or "listening on <path>" on a Unix socket) and shuts down
when its stdin ends. With ``--authenticate`` it takes the credentials "token-1" (identity
``{"user": "ada"}``) and refuses any other.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import ssl
import sys
import threading
import time

from isock import Action, ErrorValue, Server, tracked

TLS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tls"


class HttpError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


state = {"produced": 0, "cancels": 0}


class Echo(Action):
    name = "echo"

    def action(self, data):
        return data


class Kinds(Action):
    """The Python type of each item, to check what TypeScript values become."""

    name = "kinds"

    def action(self, data):
        def kind(value):
            if isinstance(value, dict):
                return ["dict", {str(key): kind(item) for key, item in value.items()}]
            if isinstance(value, list):
                return ["list", [kind(item) for item in value]]
            if isinstance(value, set):
                return ["set", sorted(repr(item) for item in value)]
            if isinstance(value, datetime.datetime):
                return ["datetime", value.isoformat()]
            if isinstance(value, ErrorValue):
                return ["ErrorValue", value.name, str(value), value.fields]
            return [type(value).__name__, value]

        return kind(data)


class Rich(Action):
    name = "rich"

    def action(self, data):
        error = HttpError("teapot", 418)
        return {
            "small": 5,
            "big": 2**70,
            "edge": 2**53,
            "safe": 2**53 - 1,
            "fraction": 0.25,
            "date": datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc),
            "map": {1: "one", (1, 2): "pair"},
            "set": {1, 2},
            "bytes": b"\x01\x02",
            "none": None,
            "error": error,
            "tuple": (1, 2),
        }


class Fail(Action):
    name = "fail"

    def action(self, data):
        raise HttpError(data, 404)


class Count(Action):
    name = "count"

    def action(self, n):
        for i in range(n):
            yield i


class Counted(Action):
    name = "counted"

    async def action(self, n):
        state["produced"] = 0
        for i in range(n):
            state["produced"] += 1
            yield i


class Produced(Action):
    name = "produced"

    def action(self, data):
        return state["produced"]


class Sum(Action):
    name = "sum"

    def action(self, items):
        return sum(items)


class WaitCancel(Action):
    name = "waitCancel"

    async def action(self, data, context):
        try:
            await context.wait_cancelled()
        finally:
            state["cancels"] += 1
        return "cancelled"


class Cancels(Action):
    name = "cancels"

    def action(self, data):
        return state["cancels"]


class Sleep(Action):
    name = "sleep"

    def action(self, ms):
        time.sleep(ms / 1000)
        return ms


class Metadata(Action):
    name = "metadata"

    def action(self, data, context):
        return context.metadata


class Remove(Action):
    """Two-way calls: asks the calling client's own "confirm" action first."""

    name = "remove"

    async def action(self, path, context):
        sure = await context.peer.run_action("confirm", f"Delete {path}?", timeout=10)
        return "deleted" if sure else "kept"


class Events(Action):
    """A tracked stream of 0 … n - 1 that goes on after ``last_event_id``."""

    name = "events"

    async def action(self, n, context):
        last = context.last_event_id
        for i in range(0 if last is None else int(last) + 1, n):
            yield tracked(i, i)


class Whoami(Action):
    name = "whoami"

    def action(self, data, context):
        return context.identity


class ResponseMeta(Action):
    name = "responseMeta"

    def action(self, data, context):
        context.response_metadata["served-by"] = "python"
        return data


class Percent(Action):
    """An action that checks its input before it runs."""

    name = "percent"

    def input(self, data):
        if not isinstance(data, (int, float)) or isinstance(data, bool):
            return [{"message": "a percent is a number", "path": []}]
        if not 0 <= data <= 100:
            return [{"message": "a percent is from 0 to 100", "path": []}]
        return None

    def action(self, data):
        return f"{data}%"


def authenticate(peer, credentials):
    return {"user": "ada"} if credentials == "token-1" else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path")
    parser.add_argument("--authenticate", action="store_true")
    parser.add_argument("--secret")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--handshake-timeout", type=float, default=10.0)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    parser.add_argument("--max-in-flight", type=int, default=1000)
    parser.add_argument("--max-frame-size", type=int, default=64 * 1024 * 1024)
    args = parser.parse_args()
    tls = None
    if args.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(str(TLS / "cert.pem"), str(TLS / "key.pem"))
    where = {"path": args.path} if args.path else {"host": "127.0.0.1", "port": args.port}
    server = Server(
        **where,
        secret=args.secret,
        authenticate=authenticate if args.authenticate else None,
        tls=tls,
        handshake_timeout=args.handshake_timeout,
        heartbeat=args.heartbeat,
        max_in_flight=args.max_in_flight,
        max_frame_size=args.max_frame_size,
    )
    actions = (Echo(), Kinds(), Rich(), Fail(), Count(), Counted(), Produced(), Sum(), WaitCancel(), Cancels(), Sleep(), Metadata())
    for action in (*actions, Remove(), Events(), Whoami(), ResponseMeta(), Percent()):
        server.addAction(action)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    print(f"listening on {args.path or server.port}", flush=True)
    sys.stdin.read()
    server.shutdown(2)
    server.server_close()
    thread.join()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
