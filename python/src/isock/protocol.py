"""The pieces of PROTOCOL.md that both sides share: frames, hellos, messages, proofs, error objects, metadata.

Nothing here touches a socket: the connections (``isock.aio``) call these functions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from typing import Any

import msgpack

from .codec import CodecError, decode
from .errors import IsockError, RemoteError

MAGIC = b"isock"
VERSION = 1
HELLO_MAX = 4096
PRE_AUTH_MAX = 64 * 1024
DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024
MIN_MAX_FRAME_SIZE = 4096
MAX_MAX_FRAME_SIZE = 0xFFFFFFFF
MAX_ID = (1 << 53) - 1
MAX_WINDOW = 65536
STREAM_WINDOW = 16
INPUT_WINDOW = 16
BATCH_WINDOW = 1024
BATCH_BYTES = 1 << 20
MAX_FRAGMENTS = 16
FRAGMENT_STALL = 30.0

REQUEST, RESULT, ERROR, CANCEL, PING, PONG, GOODBYE, AUTH, AUTH_OK = range(9)
ITEM, END, CREDIT, INPUT, INPUT_END, INPUT_CREDIT, INPUT_STOP, FRAGMENT, ITEMS, INPUTS = range(9, 19)

HEADER = struct.Struct(">I")

# How many items each message type has: (fewest, most).
_ARITY = {
    REQUEST: (3, 5),
    RESULT: (3, 4),
    ERROR: (3, 4),
    CANCEL: (2, 2),
    PING: (2, 2),
    PONG: (2, 2),
    GOODBYE: (1, 2),
    AUTH: (2, 3),
    AUTH_OK: (2, 2),
    ITEM: (3, 4),
    END: (2, 4),
    CREDIT: (3, 4),
    INPUT: (3, 3),
    INPUT_END: (2, 3),
    INPUT_CREDIT: (3, 4),
    INPUT_STOP: (2, 2),
    FRAGMENT: (4, 4),
    ITEMS: (3, 4),
    INPUTS: (3, 3),
}


class ProtocolBreach(IsockError):
    """The peer broke the protocol: the connection ends with a goodbye of this code."""

    def __init__(self, message: str, code: str = "PROTOCOL") -> None:
        super().__init__(code, message)


def frame(body: bytes) -> bytes:
    """A frame: the body's length, big-endian, then the body."""
    return HEADER.pack(len(body)) + body


def hello(fields: dict[str, Any]) -> bytes:
    """The body of a hello: the magic, the version, the fields."""
    return MAGIC + bytes([VERSION]) + msgpack.packb(fields)


def parse_hello(body: bytes) -> dict[str, Any]:
    """The fields of the peer's hello.

    :raises ProtocolBreach: for a first frame that is not a hello of version 1.
    """
    if body[:5] != MAGIC:
        raise ProtocolBreach("the first frame is not an isock hello")
    if len(body) < 6 or body[5] != VERSION:
        raise ProtocolBreach(f"protocol version {body[5] if len(body) > 5 else '?'} is not 1")
    try:
        fields = msgpack.unpackb(body[6:], raw=False, strict_map_key=False)
    except Exception:
        raise ProtocolBreach("the hello's fields are not MessagePack") from None
    if type(fields) is not dict:
        raise ProtocolBreach("the hello's fields are not a map")
    size = fields.get("maxFrameSize")
    if type(size) is not int or not MIN_MAX_FRAME_SIZE <= size <= MAX_MAX_FRAME_SIZE:
        raise ProtocolBreach("the hello has no valid maxFrameSize")
    nonce = fields.get("nonce")
    if nonce is not None and type(nonce) is not bytes:
        raise ProtocolBreach("the hello's nonce is not a binary")
    return fields


def client_proof(secret: bytes, server_nonce: bytes, client_nonce: bytes) -> bytes:
    """``HMAC-SHA256(K, "isock client" ‖ Ns ‖ Nc)``."""
    return hmac.new(secret, b"isock client" + server_nonce + client_nonce, hashlib.sha256).digest()


def server_proof(secret: bytes, client_nonce: bytes, server_nonce: bytes) -> bytes:
    """``HMAC-SHA256(K, "isock server" ‖ Nc ‖ Ns)``."""
    return hmac.new(secret, b"isock server" + client_nonce + server_nonce, hashlib.sha256).digest()


def secret_bytes(secret: str | bytes | None) -> bytes | None:
    """A secret's bytes: its UTF-8 when it is text."""
    if secret is None:
        return None
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, (bytes, bytearray)) or not secret:
        raise IsockError("INVALID_ARGUMENT", "a secret is a non-empty str or bytes")
    return bytes(secret)


def _is_id(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_ID


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_MAX_FRAME_SIZE * 16


def check_message(message: Any) -> list[Any]:
    """``message`` when it has a known type and the right items, else a breach (PROTOCOL.md section 4)."""
    if type(message) is not list or not message:
        raise ProtocolBreach("a message is not a non-empty array")
    kind = message[0]
    arity = _ARITY.get(kind) if type(kind) is int else None
    if arity is None:
        raise ProtocolBreach(f"unknown message type {kind!r}")
    if not arity[0] <= len(message) <= arity[1]:
        raise ProtocolBreach(f"message type {kind} with {len(message)} items")
    if kind == GOODBYE:
        if len(message) == 2 and message[1] is not None:
            check_error_object(message[1])
        return message
    if kind == AUTH or kind == AUTH_OK:
        if message[1] is not None and type(message[1]) is not bytes:
            raise ProtocolBreach("a proof is not a binary")
        return message
    if not _is_id(message[1]):
        raise ProtocolBreach(f"message type {kind} has no valid id")
    if kind == REQUEST:
        if type(message[2]) is not str:
            raise ProtocolBreach("a request's action is not a string")
        if len(message) == 5 and message[4] is not None and type(message[4]) is not dict:
            raise ProtocolBreach("a request's meta is not a map")
    elif kind == RESULT or kind == ERROR or kind == END:
        if kind == ERROR:
            check_error_object(message[2])
        elif kind == END and len(message) > 2 and message[2] is not None:
            check_error_object(message[2])
        answer_index = 3
        if len(message) > answer_index and message[answer_index] is not None:
            if type(message[answer_index]) is not dict:
                raise ProtocolBreach("an answerMeta is not a map")
    elif kind == ITEM or kind == ITEMS:
        if len(message) == 4 and type(message[3]) not in (str, int):
            raise ProtocolBreach("an eventId is not a string or an integer")
        if kind == ITEMS and (type(message[2]) is not list or not message[2]):
            raise ProtocolBreach("an items message holds no array of items")
    elif kind == INPUTS:
        if type(message[2]) is not list or not message[2]:
            raise ProtocolBreach("an inputs message holds no array of items")
    elif kind == CREDIT or kind == INPUT_CREDIT:
        if not _is_count(message[2]) or (len(message) == 4 and not _is_count(message[3])):
            raise ProtocolBreach("a credit is not a count")
    elif kind == INPUT_END:
        if len(message) == 3 and message[2] is not None:
            check_error_object(message[2])
    elif kind == FRAGMENT:
        if not _is_count(message[2]) or type(message[3]) is not bytes:
            raise ProtocolBreach("a fragment is not [16, id, total, bytes]")
    return message


def check_error_object(error: Any) -> dict[str, Any]:
    """``error`` when it is a well-formed error object (PROTOCOL.md section 6), else a breach."""
    if type(error) is not dict:
        raise ProtocolBreach("an error object is not a map")
    code = error.get("code")
    if type(code) is not str or not code:
        raise ProtocolBreach("an error object has no code")
    if type(error.get("name")) is not str or type(error.get("message")) is not str:
        raise ProtocolBreach("an error object's name or message is not a string")
    if "stack" in error and type(error["stack"]) is not str:
        raise ProtocolBreach("an error object's stack is not a string")
    if "fields" in error and type(error["fields"]) is not dict:
        raise ProtocolBreach("an error object's fields are not a map")
    if "issues" in error:
        issues = error["issues"]
        if type(issues) is not list:
            raise ProtocolBreach("an error object's issues are not an array")
        for issue in issues:
            if type(issue) is not dict or type(issue.get("message")) is not str:
                raise ProtocolBreach("an issue is not a map with a message")
            path = issue.get("path", [])
            if type(path) is not list or any(type(part) not in (str, int) for part in path):
                raise ProtocolBreach("an issue's path is not an array of strings and integers")
    return error


def remote_error(error: dict[str, Any]) -> RemoteError:
    """The :class:`RemoteError` for an error object."""
    return RemoteError(
        error["code"],
        error["name"],
        error["message"],
        fields=error.get("fields"),
        issues=error.get("issues"),
        remote_stack=error.get("stack"),
        cause=error.get("cause"),
    )


def error_object(code: str, name: str, message: str, **more: Any) -> dict[str, Any]:
    """An error object with these keys (and ``more`` that are not ``None``)."""
    found: dict[str, Any] = {"code": code, "name": name, "message": message}
    for key, value in more.items():
        if value is not None:
            found[key] = value
    return found


_KEY = re.compile(r"^[a-z0-9._-]{1,128}$")
MAX_METADATA_ENTRIES = 64
MAX_METADATA_BYTES = 8192


def check_metadata(metadata: Any) -> dict[str, str]:
    """``metadata`` when it follows PROTOCOL.md section 4.11, else ``INVALID_METADATA``.

    >>> check_metadata({"tenant": "a"})
    {'tenant': 'a'}
    """
    if not isinstance(metadata, dict):
        raise IsockError("INVALID_METADATA", "metadata is a dict of strings to strings")
    if len(metadata) > MAX_METADATA_ENTRIES:
        raise IsockError("INVALID_METADATA", f"metadata holds at most {MAX_METADATA_ENTRIES} entries")
    size = 0
    for key, value in metadata.items():
        if type(key) is not str or not _KEY.match(key):
            raise IsockError("INVALID_METADATA", f"metadata key {key!r} is not 1 to 128 of a-z 0-9 . _ -")
        if type(value) is not str:
            raise IsockError("INVALID_METADATA", f"metadata value of {key!r} is not a string")
        size += len(key) + len(value.encode())
    if size > MAX_METADATA_BYTES:
        raise IsockError("INVALID_METADATA", f"metadata holds at most {MAX_METADATA_BYTES} bytes")
    return metadata


def peek(body: bytes) -> tuple[Any, Any]:
    """The type and id of a message whose body does not decode whole (its data is bad), else a breach."""
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=len(body) + 1, strict_map_key=False)
    unpacker.feed(body)
    try:
        count = unpacker.read_array_header()
        kind = unpacker.unpack() if count > 0 else None
        ident = unpacker.unpack() if count > 1 else None
    except Exception:
        raise ProtocolBreach("a message is not a MessagePack array") from None
    if type(kind) is not int or not _is_id(ident):
        raise ProtocolBreach("a message is not a MessagePack array with a type and an id")
    return kind, ident


def decode_message(body: bytes, extensions: Any) -> list[Any] | CodecError:
    """The message in ``body``; a :class:`CodecError` when only its data fails to decode."""
    try:
        return check_message(decode(body, extensions))
    except CodecError as error:
        return error
