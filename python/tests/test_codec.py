"""The data mapping of PROTOCOL.md sections 8 and 9, in Python."""

import array
import datetime

import pytest

from isock import INVALID_DATE, CodecError, ErrorValue, Extension, RegExp, decode, encode

UTC = datetime.timezone.utc


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -1,
        2**53 - 1,
        -(2**53 - 1),
        2**53,
        -(2**53),
        2**64,
        -(2**200),
        0.5,
        "héllo",
        b"\x00\x01",
        [1, [2, [3]]],
        {"a": {"b": 1}},
        {1: "one", "two": 2, (1, 2): "tuple"},
        {1, "a"},
        datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        datetime.datetime(1960, 1, 1, tzinfo=UTC),
        RegExp("a+", "gi"),
        INVALID_DATE,
        bytearray(b"buffer"),
        array.array("d", [1.5, -2.0]),
        array.array("q", [-(2**62)]),
    ],
)
def test_values_come_back_equal_and_of_the_same_type(value: object) -> None:
    found = decode(encode(value))
    assert found == value
    assert type(found) is type(value)


def test_integers_beyond_2_53_travel_as_bigint_and_within_as_numbers() -> None:
    assert encode(2**53 - 1)[0] == 0xCF  # uint 64, a number
    assert encode(2**53).hex() == "c707022" + "0" * 13  # extension 2, a bigint
    assert encode(128).hex() == "cc80"
    assert encode(-(2**53)).hex() == "c70702e0" + "0" * 12


def test_a_tuple_and_a_frozenset_arrive_as_list_and_set() -> None:
    assert decode(encode((1, 2))) == [1, 2]
    assert decode(encode(frozenset([1]))) == {1}


def test_a_naive_datetime_is_local_time_and_arrives_as_that_instant() -> None:
    naive = datetime.datetime(2026, 6, 1, 12, 0, 0)
    found = decode(encode(naive))
    assert found.tzinfo is not None
    assert found == naive.astimezone()


def test_an_exception_travels_as_an_error_with_name_message_and_fields() -> None:
    error = KeyError("k")
    error.status = 404  # type: ignore[attr-defined]
    found = decode(encode(error))
    assert isinstance(found, ErrorValue)
    assert found.name == "KeyError"
    assert found.fields == {"status": 404}
    assert "k" in str(found)


def test_an_error_keeps_its_cause() -> None:
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as error:
        found = decode(encode(error))
    assert str(found) == "outer"
    assert str(found.cause) == "inner"


def test_functions_and_cycles_fail_with_encode_failed() -> None:
    with pytest.raises(CodecError) as caught:
        encode({"f": print})
    assert caught.value.code == "ENCODE_FAILED"
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(CodecError) as caught:
        encode(cycle)
    assert caught.value.code == "ENCODE_FAILED"


@pytest.mark.parametrize(
    "hex_bytes",
    [
        "c1",  # never used
        "92",  # an array of 2 with nothing after
        "dd7fffffff",  # an array claiming 2^31 items
        "d41f00",  # an unknown, reserved extension
        "d40001",  # undefined that is not 00
        "c70006",  # a typed array without its kind
        "c7020601",  # an Int16Array with half an element
        "d6ff00000000" + "00",  # two values
        "c70c" + "ff" + "3b9aca00" + "0000000000000000",  # nanoseconds of 10^9
    ],
)
def test_bad_bytes_fail_with_a_codec_error(hex_bytes: str) -> None:
    with pytest.raises(CodecError) as caught:
        decode(bytes.fromhex(hex_bytes))
    assert caught.value.code == "DECODE_FAILED"


def test_a_decode_bomb_is_refused_with_decode_budget() -> None:
    count = 2_000_000
    bomb = b"\xdd" + count.to_bytes(4, "big") + b"\x90" * count  # 2 MB of empty arrays
    with pytest.raises(CodecError) as caught:
        decode(bomb)
    assert caught.value.code == "DECODE_BUDGET"


def test_ordinary_large_data_is_within_the_budget() -> None:
    value = [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(20_000)]
    assert decode(encode(value)) == value


def test_values_nest_at_most_512_levels() -> None:
    deep: list[object] = []
    for _ in range(600):
        deep = [deep]
    with pytest.raises(CodecError):
        encode(deep)
    with pytest.raises(CodecError):
        decode(b"\xd4\x04" * 0 + bytes.fromhex("c703049100") * 0 + b"\x91" * 2000 + b"\xc0")


def test_user_extensions_travel_as_themselves() -> None:
    class Point:
        def __init__(self, x: int, y: int) -> None:
            self.x, self.y = x, y

    point = Extension(40, Point, lambda p: [p.x, p.y], lambda data: Point(*data))
    found = decode(encode({"p": Point(1, 2)}, [point]), [point])
    assert (found["p"].x, found["p"].y) == (1, 2)
    with pytest.raises(CodecError):
        decode(encode(Point(1, 2), [point]))  # a reader without the extension
