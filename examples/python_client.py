"""An isock client in Python, written from PROTOCOL.md alone.

It shows that the wire format is enough to talk to an isock server from
another language. It needs the `msgpack` package (Debian: python3-msgpack).

    python3 examples/python_client.py [hostname] [port]

runs the classic example's actions against `deno task server`.
"""

import datetime
import socket
import struct
import sys

import msgpack

MAGIC = b"isock"
VERSION = 1
REQUEST, RESULT, ERROR, PING, PONG, GOODBYE = 0, 1, 2, 4, 5, 6


def ext_hook(code, data):
    """Decodes the isock extension types this client cares about (PROTOCOL.md, section 8)."""
    if code == 0:  # undefined
        return None
    if code == 2:  # bigint: two's complement, big-endian
        return int.from_bytes(data, "big", signed=True)
    if code == 3:  # Map
        return unpack(data)
    if code == 4:  # Set
        return unpack(data)
    if code == 5:  # Error
        return unpack(data)
    return msgpack.ExtType(code, data)


def unpack(data):
    return msgpack.unpackb(
        data, ext_hook=ext_hook, timestamp=3, strict_map_key=False, raw=False
    )


class IsockError(Exception):
    def __init__(self, error):
        super().__init__(f"{error['code']}: {error['name']}: {error['message']}")
        self.code = error["code"]


class Client:
    def __init__(self, hostname, port):
        self.sock = socket.create_connection((hostname, port))
        self.next_id = 1
        self.send_frame(MAGIC + bytes([VERSION]) + msgpack.packb({"maxFrameSize": 64 << 20}))
        hello = self.read_frame()
        if hello[:5] != MAGIC or hello[5] != VERSION:
            raise RuntimeError("not an isock server of protocol version 1")
        self.server_max_frame_size = unpack(hello[6:])["maxFrameSize"]

    def send_frame(self, body):
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def read_exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def read_frame(self):
        (length,) = struct.unpack(">I", self.read_exactly(4))
        return self.read_exactly(length)

    def run_action(self, name, data=None):
        request_id = self.next_id
        self.next_id += 1
        self.send_frame(msgpack.packb([REQUEST, request_id, name, data]))
        while True:
            message = unpack(self.read_frame())
            if message[0] == PING:  # heartbeats: answer at once (PROTOCOL.md, 4.6)
                self.send_frame(msgpack.packb([PONG, message[1]]))
                continue
            if message[0] == GOODBYE:
                raise ConnectionError("the server is closing the connection")
            if message[0] not in (RESULT, ERROR) or message[1] != request_id:
                continue  # an answer to another call; this client makes one at a time
            if message[0] == RESULT:
                return message[2]
            raise IsockError(message[2])

    def close(self):
        self.sock.close()


def main():
    hostname = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 4440
    client = Client(hostname, port)
    try:
        print("### Echo test")
        print(client.run_action("echo", "Echo test from Python!"))
        print("### Exec history")
        print(client.run_action("execHistory"))
        print("### Server time")
        now = client.run_action("time")
        assert isinstance(now, datetime.datetime)
        print(now.isoformat())
        print("### Unknown action")
        try:
            client.run_action("nope")
        except IsockError as error:
            print(error)
    finally:
        client.close()


if __name__ == "__main__":
    main()
