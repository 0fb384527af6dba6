"""The conformance vectors (tests/vectors/*.json) against the Python package.

The TypeScript suite (tests/conformance_vectors_test.ts) checks the same files against the
reference codec. ``value`` is in the JSON mapping of docs/errors.md ("Values as JSON"); here it is
read into the Python value that PROTOCOL.md's data mapping says the bytes decode to.
"""

from __future__ import annotations

import array
import base64
import datetime
import json
import math
import pathlib
from typing import Any

import pytest

from isock import INVALID_DATE, CodecError, ErrorValue, RegExp, decode, encode

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "vectors"
FILES = sorted(VECTORS.glob("*.json"))
TYPED = {
    "Int8Array": "b",
    "Uint8ClampedArray": "B",
    "Int16Array": "h",
    "Uint16Array": "H",
    "Int32Array": "i",
    "Uint32Array": "I",
    "Float32Array": "f",
    "Float64Array": "d",
    "BigInt64Array": "q",
    "BigUint64Array": "Q",
}


def hashable(value: Any) -> Any:
    return tuple(hashable(item) for item in value) if isinstance(value, list) else value


def from_json(value: Any) -> Any:
    """The Python value a tagged JSON value stands for."""
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag.startswith("$$"):
            return {tag[1:]: from_json(inner)}
        if tag in ("$undefined", "$hole"):
            return None
        if tag == "$number":
            return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}[inner]
        if tag == "$bigint":
            return int(inner)
        if tag == "$date":
            if inner is None:
                return INVALID_DATE
            return datetime.datetime.fromisoformat(inner.replace("Z", "+00:00"))
        if tag == "$bytes":
            return base64.b64decode(inner)
        if tag == "$arraybuffer":
            return bytearray(base64.b64decode(inner))
        if tag == "$typed":
            data = base64.b64decode(inner["bytes"])
            if inner["type"] == "DataView":
                return memoryview(data)
            found = array.array(TYPED[inner["type"]])
            found.frombytes(data)
            return found
        if tag == "$map":
            return {hashable(from_json(key)): from_json(item) for key, item in inner}
        if tag == "$set":
            return {hashable(from_json(member)) for member in inner}
        if tag == "$regexp":
            source, _, flags = inner[1:].rpartition("/")
            return RegExp(source, flags)
        if tag == "$error":
            fields = {key: from_json(item) for key, item in inner.items() if key not in ("name", "message", "cause", "stack")}
            return ErrorValue(inner["name"], inner["message"], cause=from_json(inner.get("cause")), fields=fields)
    return {key: from_json(item) for key, item in value.items()}


def same(found: Any, expected: Any) -> bool:
    """Equal, of the same type all the way down (NaN equal to NaN, -0 apart from 0)."""
    if type(found) is not type(expected):
        return False
    if isinstance(expected, float):
        return (math.isnan(found) and math.isnan(expected)) or (found == expected and math.copysign(1, found) == math.copysign(1, expected))
    if isinstance(expected, list):
        return len(found) == len(expected) and all(same(a, b) for a, b in zip(found, expected))
    if isinstance(expected, dict):
        return list(found) == list(expected) and all(same(found[key], expected[key]) for key in expected)
    if isinstance(expected, memoryview):
        return found.tobytes() == expected.tobytes()
    if isinstance(expected, ErrorValue):
        return (found.name, found.message) == (expected.name, expected.message) and same(found.fields, expected.fields) and same(found.cause, expected.cause)
    return found == expected


def test_there_is_one_vector_per_extension_type_and_edge_case() -> None:
    names = {path.stem for path in FILES}
    assert len(names) >= 60
    assert {"undefined", "array-hole", "bigint-2-64", "map-number-keys", "set", "error", "float64array", "arraybuffer", "regexp", "date-invalid"} <= names


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_vector(path: pathlib.Path) -> None:
    vector = json.loads(path.read_text())
    data = bytes.fromhex(vector["hex"])
    if "repeat" in vector:
        data += bytes.fromhex(vector["repeat"]["hex"]) * vector["repeat"]["times"]
    if "error" in vector:
        with pytest.raises(CodecError) as caught:
            decode(data)
        assert caught.value.code == vector["error"]
        return
    expected = from_json(vector["value"])
    found = decode(data)
    assert same(found, expected), (found, expected)
    if not vector.get("decodeOnly") and vector.get("pythonEncodes", True):
        assert encode(expected).hex() == vector["hex"]
