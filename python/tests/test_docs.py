"""The examples in the package's docstrings run, and every public name has a docstring."""

import doctest
import importlib

import pytest

import isock

MODULES = [
    "isock",
    "isock.codec",
    "isock.errors",
    "isock.action",
    "isock.protocol",
    "isock.aio",
    "isock.aio._peer",
    "isock.sync",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failures, _tried = doctest.testmod(module, extraglobs={"datetime": importlib.import_module("datetime")})
    assert failures == 0


@pytest.mark.parametrize("name", isock.__all__)
def test_every_public_name_is_documented(name: str) -> None:
    value = getattr(isock, name)
    if callable(value) or isinstance(value, type(isock)):
        assert (value.__doc__ or "").strip(), name
