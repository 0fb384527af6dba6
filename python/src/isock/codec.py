"""isock's values in MessagePack, as PROTOCOL.md sections 8 and 9 define them.

What maps to what (both ways, unless marked):

=====================================  =====================================================
Python                                 TypeScript
=====================================  =====================================================
``None``                               ``null``; ``undefined`` and array holes arrive as ``None``
``bool``                               boolean
``int`` within ±(2**53 - 1)            number (an integer)
any other ``int``                      ``bigint`` (extension 2); a ``bigint`` arrives as ``int``
``float``                              number
``str``                                string
``bytes``                              ``Uint8Array``
``bytearray``                          ``ArrayBuffer`` (extension 7)
``array.array``                        a typed array (extension 6); ``memoryview`` a ``DataView``
``list``, ``tuple`` → array            array → ``list``
``dict`` with ``str`` keys             plain object
``dict`` with other keys               ``Map`` (extension 3); keys that are arrays arrive as tuples
``set``, ``frozenset``                 ``Set`` (extension 4)
``datetime.datetime``                  ``Date``: arrives as an aware UTC datetime; a naive one is
                                       taken as local time
an exception                           ``Error`` (extension 5): name, message, cause, own fields;
                                       an ``Error`` arrives as :class:`ErrorValue`
:class:`RegExp`, ``re.Pattern``        ``RegExp`` (extension 8)
:data:`INVALID_DATE`                   an invalid ``Date`` (extension 9)
an :class:`Extension`'s class          that user extension (32 to 127)
``enum.Enum``, a dataclass             its value; a map of its fields
=====================================  =====================================================

>>> value = {"n": 2**60, "at": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)}
>>> decode(encode(value)) == value
True
"""

from __future__ import annotations

import array
import dataclasses
import datetime
import enum
import re
import struct
import sys
from typing import Any, Callable, Iterable, Sequence

import msgpack

from .errors import CodecError

__all__ = [
    "encode",
    "decode",
    "Extension",
    "ErrorValue",
    "RegExp",
    "InvalidDate",
    "INVALID_DATE",
    "MAX_DEPTH",
]

MAX_DEPTH = 512
"""How deep values may nest, in arrays, maps, sets, errors and extensions."""

SAFE_INTEGER = (1 << 53) - 1
"""The largest integer a JavaScript number holds exactly: beyond it an ``int`` travels as a ``bigint``."""

# Decode budget (PROTOCOL.md section 8): units a value may cost.
BUDGET_PER_BYTE = 4
BUDGET_BASE = 1 << 18
MAX_BUDGET = 1 << 23
UNMEASURED_BYTES = 8 * 1024

EXT_TIMESTAMP = -1
EXT_UNDEFINED = 0
EXT_HOLE = 1
EXT_BIGINT = 2
EXT_MAP = 3
EXT_SET = 4
EXT_ERROR = 5
EXT_TYPED = 6
EXT_ARRAY_BUFFER = 7
EXT_REGEXP = 8
EXT_INVALID_DATE = 9

# Typed array kinds (extension 6) and the array.array type codes that hold them.
_KIND_CODES = ["b", "B", "h", "H", "i", "I", "f", "d", "q", "Q"]
_KIND_SIZES = [1, 1, 2, 2, 4, 4, 4, 8, 8, 8]
_KIND_DATAVIEW = 10
_CODE_KINDS = {"b": 0, "B": 1, "h": 2, "H": 3, "i": 4, "I": 5, "f": 6, "d": 7, "q": 8, "Q": 9}
for _code, _size in zip(_KIND_CODES, _KIND_SIZES):
    assert array.array(_code).itemsize == _size, f"array type code {_code} is not {_size} bytes here"
_LITTLE = sys.byteorder == "little"


class ErrorValue(Exception):
    """A JavaScript ``Error`` that arrived as data (extension 5); ``str()`` is its message.

    ``name`` is its name (``TypeError``), ``fields`` its own fields, ``stack`` its stack
    when sent, ``errors`` an ``AggregateError``'s errors. It goes back as the same ``Error``.

    >>> error = decode(encode(ErrorValue("RangeError", "too big", fields={"limit": 3})))
    >>> (error.name, str(error), error.fields)
    ('RangeError', 'too big', {'limit': 3})
    """

    def __init__(
        self,
        name: str,
        message: str,
        *,
        stack: str | None = None,
        cause: Any = None,
        errors: list[Any] | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.stack = stack
        self.errors = errors
        self.fields: dict[str, Any] = fields if fields is not None else {}
        if cause is not None:
            self.__cause__ = cause if isinstance(cause, BaseException) else None
        self.cause = cause

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ErrorValue({self.name!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ErrorValue)
            and (self.name, self.message, self.cause, self.errors, self.fields)
            == (other.name, other.message, other.cause, other.errors, other.fields)
        )

    __hash__ = Exception.__hash__


@dataclasses.dataclass(frozen=True)
class RegExp:
    """A JavaScript regular expression (extension 8): its source and flags, as JavaScript reads them.

    >>> decode(encode(RegExp("a+b", "gi")))
    RegExp(source='a+b', flags='gi')
    """

    source: str
    flags: str = ""


class InvalidDate:
    """The type of :data:`INVALID_DATE`, a JavaScript ``Date`` whose time is ``NaN`` (extension 9)."""

    _instance: "InvalidDate | None" = None

    def __new__(cls) -> "InvalidDate":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INVALID_DATE"


INVALID_DATE = InvalidDate()
"""An invalid JavaScript ``Date`` (``new Date(NaN)``): how one arrives, and how to send one."""


@dataclasses.dataclass(frozen=True)
class Extension:
    """A class of yours that travels as itself (a user extension, type id 32 to 127).

    Both peers register the same extensions. ``encode`` turns an instance into data
    isock can send; ``decode`` turns that data back into an instance.

    >>> @dataclasses.dataclass
    ... class Point:
    ...     x: int
    ...     y: int
    >>> point = Extension(40, Point, lambda p: [p.x, p.y], lambda data: Point(*data))
    >>> decode(encode(Point(1, 2), [point]), [point])
    Point(x=1, y=2)
    """

    type_id: int
    cls: type
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]

    def __post_init__(self) -> None:
        if not (isinstance(self.type_id, int) and 32 <= self.type_id <= 127):
            raise CodecError("INVALID_EXTENSION", f"an extension's type id is 32 to 127, not {self.type_id!r}")


def _check_extensions(extensions: Sequence[Extension] | None) -> tuple[Extension, ...]:
    found = tuple(extensions or ())
    ids = [extension.type_id for extension in found]
    if len(set(ids)) != len(ids):
        raise CodecError("INVALID_EXTENSION", "two extensions share a type id")
    return found


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------

_packb = msgpack.packb


def _bigint_bytes(value: int) -> bytes:
    length = (value + (value < 0)).bit_length() // 8 + 1
    return value.to_bytes(length, "big", signed=True)


def _timestamp(value: datetime.datetime) -> msgpack.Timestamp:
    """The instant of ``value`` (msgpack writes the shortest of the three timestamp forms)."""
    if value.tzinfo is None:
        value = value.astimezone()  # a naive datetime is local time
    delta = value - _EPOCH
    return msgpack.Timestamp(delta.days * 86400 + delta.seconds, delta.microseconds * 1000)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _map_payload(pairs: Iterable[tuple[Any, Any]], count: int) -> bytes:
    if count < 16:
        header = bytes([0x80 | count])
    elif count < 65536:
        header = struct.pack(">BH", 0xDE, count)
    else:
        header = struct.pack(">BI", 0xDF, count)
    return header + b"".join(_packb(key) + _packb(value) for key, value in pairs)


_REGEX_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))


class _Encoder:
    """Turns a value into what msgpack's packer writes: plain values and ``ExtType``."""

    __slots__ = ("extensions", "stacks")

    def __init__(self, extensions: tuple[Extension, ...], stacks: bool) -> None:
        self.extensions = extensions
        self.stacks = stacks

    def prepare(self, value: Any, depth: int = 0) -> Any:
        kind = type(value)
        if kind is str or kind is float or kind is bool or value is None or kind is bytes:
            return value
        if kind is int:
            if -SAFE_INTEGER <= value <= SAFE_INTEGER:
                return value
            return msgpack.ExtType(EXT_BIGINT, _bigint_bytes(value))
        if depth >= MAX_DEPTH:
            raise CodecError("ENCODE_FAILED", f"the value nests deeper than {MAX_DEPTH} levels (a cycle?)")
        depth += 1
        if kind is list or kind is tuple:
            return [self.prepare(item, depth) for item in value]
        if kind is dict:
            for key in value:
                if type(key) is not str:
                    return self._map(value, depth)
            return {key: self.prepare(item, depth) for key, item in value.items()}
        return self._other(value, depth)

    def _map(self, value: dict[Any, Any], depth: int) -> msgpack.ExtType:
        pairs = [(self.prepare(key, depth), self.prepare(item, depth)) for key, item in value.items()]
        return msgpack.ExtType(EXT_MAP, _map_payload(pairs, len(pairs)))

    def _other(self, value: Any, depth: int) -> Any:
        for extension in self.extensions:
            if isinstance(value, extension.cls):
                inner = self.prepare(extension.encode(value), depth)
                return msgpack.ExtType(extension.type_id, _packb(inner))
        if isinstance(value, datetime.datetime):
            return _timestamp(value)
        if isinstance(value, (set, frozenset)):
            return msgpack.ExtType(EXT_SET, _packb([self.prepare(item, depth) for item in value]))
        if isinstance(value, BaseException):
            return msgpack.ExtType(EXT_ERROR, _packb(self.error_map(value, depth)))
        if isinstance(value, enum.Enum):
            return self.prepare(value.value, depth)
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return self.prepare(int(value), depth)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, str):
            return str(value)
        if isinstance(value, bytearray):
            return msgpack.ExtType(EXT_ARRAY_BUFFER, bytes(value))
        if isinstance(value, bytes):
            return bytes(value)
        if isinstance(value, array.array):
            kind = _CODE_KINDS.get(value.typecode)
            if kind is None:
                raise CodecError("ENCODE_FAILED", f"an array of type code {value.typecode!r} has no typed array")
            if not _LITTLE:
                value = array.array(value.typecode, value)
                value.byteswap()
            return msgpack.ExtType(EXT_TYPED, bytes([kind]) + value.tobytes())
        if isinstance(value, memoryview):
            return msgpack.ExtType(EXT_TYPED, bytes([_KIND_DATAVIEW]) + value.tobytes())
        if isinstance(value, RegExp):
            return msgpack.ExtType(EXT_REGEXP, _packb([value.source, value.flags]))
        if isinstance(value, re.Pattern):
            flags = "".join(letter for flag, letter in _REGEX_FLAGS if value.flags & flag)
            source = value.pattern if isinstance(value.pattern, str) else value.pattern.decode()
            return msgpack.ExtType(EXT_REGEXP, _packb([source, flags]))
        if value is INVALID_DATE:
            return msgpack.ExtType(EXT_INVALID_DATE, b"")
        if isinstance(value, dict):
            return self.prepare(dict(value), depth - 1)
        if isinstance(value, (list, tuple)):
            return [self.prepare(item, depth) for item in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
            return self.prepare(fields, depth - 1)
        raise CodecError("ENCODE_FAILED", f"a {type(value).__name__} cannot be sent")

    def error_map(self, error: BaseException, depth: int) -> dict[str, Any]:
        """The payload of extension 5 for ``error``: name, message, stack?, cause?, errors?, fields."""
        if isinstance(error, ErrorValue):
            name, message, own = error.name, error.message, dict(error.fields)
            cause = error.cause
        else:
            name, message = type(error).__name__, str(error)
            own = {key: item for key, item in vars(error).items() if not key.startswith("_")}
            cause = error.__cause__
        payload: dict[str, Any] = {"name": name, "message": message}
        if self.stacks:
            stack = error.stack if isinstance(error, ErrorValue) else _stack_of(error)
            if stack:
                payload["stack"] = stack
        if cause is not None:
            try:
                payload["cause"] = self.prepare(cause, depth)
            except CodecError:
                pass
        errors = getattr(error, "exceptions", None) if not isinstance(error, ErrorValue) else error.errors
        if isinstance(errors, (list, tuple)):
            payload["errors"] = self.prepare(list(errors), depth)
        for key, item in own.items():
            if key in payload or key in ("name", "message", "stack", "cause", "errors"):
                continue
            try:
                payload[key] = self.prepare(item, depth)
            except CodecError:
                pass  # a field that cannot travel stays here
        return payload


def _stack_of(error: BaseException) -> str | None:
    if error.__traceback__ is None:
        return None
    import traceback

    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


_ENCODERS: dict[tuple[tuple[Extension, ...], bool], _Encoder] = {}


def _encoder(extensions: Sequence[Extension] | None, stacks: bool = False) -> _Encoder:
    key = (tuple(extensions or ()), stacks)
    found = _ENCODERS.get(key)
    if found is None:
        found = _ENCODERS[key] = _Encoder(_check_extensions(key[0]), stacks)
    return found


def prepare(value: Any, extensions: Sequence[Extension] | None = None, *, stacks: bool = False) -> Any:
    """``value`` as msgpack's packer writes it (plain values and ``msgpack.ExtType``).

    >>> prepare({1: "a"})
    ExtType(code=3, data=b'\\x81\\x01\\xa1a')
    """
    return _encoder(extensions, stacks).prepare(value)


def encode(value: Any, extensions: Sequence[Extension] | None = None, *, stacks: bool = False) -> bytes:
    """Encodes one value as MessagePack with isock's extension types.

    :param value: anything in the module's table.
    :param extensions: your classes (:class:`Extension`).
    :param stacks: whether exceptions carry their stack traces.
    :raises CodecError: ``ENCODE_FAILED`` for what cannot be sent (a function, a cycle).

    >>> encode(2**64).hex()
    'c70902010000000000000000'
    """
    try:
        return _packb(_encoder(extensions, stacks).prepare(value))
    except CodecError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        raise CodecError("ENCODE_FAILED", f"the value cannot be encoded: {error}") from None


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


def _hashable(value: Any) -> Any:
    if type(value) is list:
        return tuple(_hashable(item) for item in value)
    return value


class _Decoder:
    """One decode: the extension hook, with the nesting depth and the budget it has left."""

    __slots__ = ("extensions", "depth", "budget", "measured")

    def __init__(self, extensions: tuple[Extension, ...], size: int) -> None:
        self.extensions = extensions
        self.depth = 0
        self.measured = size > UNMEASURED_BYTES
        self.budget = min(BUDGET_PER_BYTE * size + BUDGET_BASE, MAX_BUDGET)

    def spend(self, units: int) -> None:
        self.budget -= units
        if self.budget < 0:
            raise CodecError("DECODE_BUDGET", "the value would cost too much memory to decode")

    def list_hook(self, items: list[Any]) -> list[Any]:
        self.spend(6 + len(items))
        return items

    def object_hook(self, items: dict[Any, Any]) -> dict[Any, Any]:
        self.spend(8 + 5 * len(items))
        return items

    def unpack(self, data: bytes, pairs: bool = False) -> Any:
        if self.depth >= MAX_DEPTH:
            raise CodecError("DECODE_FAILED", f"the value nests deeper than {MAX_DEPTH} levels")
        self.depth += 1
        try:
            options: dict[str, Any] = {}
            if self.measured:
                options["list_hook"] = self.list_hook
                options["object_hook"] = self.object_hook
            if pairs:
                options["object_pairs_hook"] = self.pairs
                options.pop("object_hook", None)
            return msgpack.unpackb(
                data, raw=False, strict_map_key=False, timestamp=3, ext_hook=self.ext_hook, **options
            )
        finally:
            self.depth -= 1

    def pairs(self, items: list[tuple[Any, Any]]) -> Any:
        if self.measured:
            self.spend(8 + 5 * len(items))
        return {_hashable(key): value for key, value in items}

    def ext_hook(self, code: int, data: bytes) -> Any:
        if self.measured:
            self.spend(_EXT_COST.get(code, 8) + (len(data) // 8 if code == EXT_BIGINT else 0))
        if code == EXT_UNDEFINED or code == EXT_HOLE:
            if data != b"\x00":
                raise CodecError("DECODE_FAILED", "an undefined or a hole is one 00 byte")
            return None
        if code == EXT_BIGINT:
            return int.from_bytes(data, "big", signed=True)
        if code == EXT_MAP:
            try:
                found = self.unpack(data, pairs=True)
            except TypeError:
                raise CodecError("DECODE_FAILED", "a Map key Python cannot hash") from None
            if type(found) is not dict:
                raise CodecError("DECODE_FAILED", "a Map's payload is not a map")
            return found
        if code == EXT_SET:
            members = self.unpack(data)
            if type(members) is not list:
                raise CodecError("DECODE_FAILED", "a Set's payload is not an array")
            try:
                return {_hashable(member) for member in members}
            except TypeError:
                return members  # members Python cannot hash (objects) arrive as a list
        if code == EXT_ERROR:
            return self.error(self.unpack(data))
        if code == EXT_TYPED:
            return _typed_array(data)
        if code == EXT_ARRAY_BUFFER:
            return bytearray(data)
        if code == EXT_REGEXP:
            found = self.unpack(data)
            if not (type(found) is list and len(found) == 2 and all(type(part) is str for part in found)):
                raise CodecError("DECODE_FAILED", "a RegExp's payload is not [source, flags]")
            return RegExp(found[0], found[1])
        if code == EXT_INVALID_DATE:
            if data:
                raise CodecError("DECODE_FAILED", "an invalid date has an empty payload")
            return INVALID_DATE
        for extension in self.extensions:
            if extension.type_id == code:
                return extension.decode(self.unpack(data))
        raise CodecError("DECODE_FAILED", f"unknown extension type {code}")

    def error(self, found: Any) -> ErrorValue:
        if type(found) is not dict or type(found.get("name")) is not str or type(found.get("message")) is not str:
            raise CodecError("DECODE_FAILED", "an Error's payload is not a map with a name and a message")
        stack = found.get("stack")
        if stack is not None and type(stack) is not str:
            raise CodecError("DECODE_FAILED", "an Error's stack is not a string")
        errors = found.get("errors")
        fields = {
            key: item
            for key, item in found.items()
            if key not in ("name", "message", "stack", "cause", "errors") and type(key) is str
        }
        return ErrorValue(
            found["name"],
            found["message"],
            stack=stack,
            cause=found.get("cause"),
            errors=errors if type(errors) is list else None,
            fields=fields,
        )


_EXT_COST = {
    EXT_TIMESTAMP: 13,
    EXT_BIGINT: 4,
    EXT_MAP: 25,
    EXT_SET: 25,
    EXT_ERROR: 80,
    EXT_TYPED: 26,
    EXT_ARRAY_BUFFER: 14,
    EXT_REGEXP: 10,
    EXT_INVALID_DATE: 13,
    EXT_UNDEFINED: 1,
    EXT_HOLE: 1,
}


def _typed_array(data: bytes) -> Any:
    if not data:
        raise CodecError("DECODE_FAILED", "a typed array without its kind byte")
    kind = data[0]
    if kind == _KIND_DATAVIEW:
        return memoryview(data[1:])
    if kind >= len(_KIND_CODES) or (len(data) - 1) % _KIND_SIZES[kind]:
        raise CodecError("DECODE_FAILED", "a typed array of unknown kind or partial elements")
    found = array.array(_KIND_CODES[kind])
    found.frombytes(data[1:])
    if not _LITTLE:
        found.byteswap()
    return found


def decode(data: bytes | bytearray | memoryview, extensions: Sequence[Extension] | None = None) -> Any:
    """Decodes exactly one MessagePack value with isock's extension types.

    A value larger than 8 KiB is held to the decode budget (PROTOCOL.md section 8):
    what it costs to build is bounded by its size.

    :raises CodecError: ``DECODE_FAILED`` for bytes that are not one valid value,
        ``DECODE_BUDGET`` for a decode bomb.

    >>> decode(bytes.fromhex("d40000")) is None
    True
    """
    decoder = _Decoder(_check_extensions(extensions) if extensions else (), len(data))
    try:
        return decoder.unpack(data if isinstance(data, bytes) else bytes(data))
    except CodecError:
        raise
    except RecursionError:
        raise CodecError("DECODE_FAILED", "the value nests too deeply") from None
    except Exception as error:  # msgpack's errors, and datetime's range
        raise CodecError("DECODE_FAILED", f"the bytes are not one valid value: {error}") from None
