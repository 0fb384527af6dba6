"""Actions: what a server offers, by name, and the context a handler may take."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any, Callable, ClassVar

from .errors import IsockError

__all__ = ["Action", "Context", "Tracked", "action_name", "check_input", "tracked"]

RESERVED_PREFIX = "$isock."


class Action:
    """A server action, as in the seed: subclass it and override ``action(self, data)``.

    Its wire name is the class attribute ``name`` when set, else the class name. State the
    action needs (a history list, a database) comes through its constructor. ``action`` may be
    a plain method, a generator (it streams its items), ``async def`` or an async generator,
    and may take a second argument, the call's :class:`Context`.

    >>> class Echo(Action):
    ...     def action(self, data):
    ...         return data
    >>> action_name(Echo), Echo().action("hi")
    ('Echo', 'hi')
    """

    name: ClassVar[str | None] = None
    idempotent: ClassVar[bool] = False
    """Whether running it twice does no harm (reflection tells callers)."""
    input: ClassVar[Callable[[Any], Any] | None] = None
    """A check of the data, run before the handler (see :func:`check_input`): a staticmethod."""

    def action(self, data: Any) -> Any:
        """Runs the action on ``data`` (``None`` when the caller sent none); returns the answer."""
        raise NotImplementedError


class Context:
    """What a handler knows about its call: deadline, metadata, the caller, and whether it gave up.

    ``deadline`` is a ``time.time()`` instant or ``None``; ``metadata`` the caller's metadata;
    ``response_metadata`` a dict of strings sent back with the answer (for a stream, with its
    end); ``last_event_id`` the id of the last item a resumed stream's caller received (see
    :func:`tracked`); ``peer`` the caller, whose own actions the handler may call
    (``await context.peer.run_action(...)``, or ``context.peer.run_action_sync(...)`` from a
    handler in a thread); ``identity`` what the server's ``authenticate`` said of the client.
    ``cancelled`` turns true when the caller cancels, times out, or the connection ends, and
    ``cancel_event`` (a ``threading.Event``) is set then, for handlers running in threads.
    ``await context.wait_cancelled()`` waits for it in an ``async`` handler.

    >>> context = Context(deadline=None, metadata={"tenant": "a"})
    >>> (context.cancelled, context.metadata["tenant"])
    (False, 'a')
    """

    def __init__(
        self,
        *,
        deadline: float | None,
        metadata: dict[str, str],
        last_event_id: str | int | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        peer: Any = None,
        identity: Any = None,
    ) -> None:
        self.deadline = deadline
        self.metadata = metadata
        self.last_event_id = last_event_id
        self.peer = peer
        self.identity = identity
        self.response_metadata: dict[str, str] = {}
        self.cancel_event = threading.Event()
        self._loop = loop
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def cancelled(self) -> bool:
        """Whether the caller gave up on this call."""
        return self.cancel_event.is_set()

    def time_left(self) -> float | None:
        """Seconds to the deadline (``None`` without one)."""
        return None if self.deadline is None else self.deadline - time.time()

    async def wait_cancelled(self) -> None:
        """Returns once the call is cancelled."""
        if self.cancelled:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        await future

    def _cancel(self) -> None:
        if self.cancel_event.is_set():
            return
        self.cancel_event.set()
        for future in self._waiters:
            if not future.done():
                future.set_result(None)


class Tracked:
    """A stream item tagged with an id, made by :func:`tracked`."""

    __slots__ = ("id", "value")

    def __init__(self, ident: str | int, value: Any) -> None:
        if type(ident) not in (str, int) or isinstance(ident, bool):
            raise IsockError("INVALID_ARGUMENT", f"a tracked id is a str or an int, not {ident!r}")
        self.id = ident
        self.value = value

    def __repr__(self) -> str:
        return f"tracked({self.id!r}, {self.value!r})"


def tracked(ident: str | int, value: Any) -> Tracked:
    """Tags a stream item with an id, so that the stream survives a dropped connection.

    The caller receives ``value``; when its connection drops, it reconnects and calls the
    action again with the last id it received as ``context.last_event_id``: the handler goes on
    after it, and the caller's loop sees no gap and no duplicate (PROTOCOL.md section 4.7).

    >>> def events(data, context):
    ...     start = int(context.last_event_id or 0)
    ...     for n in range(start + 1, 4):
    ...         yield tracked(n, {"n": n})
    >>> [item.id for item in events(None, Context(deadline=None, metadata={}, last_event_id=1))]
    [2, 3]
    """
    return Tracked(ident, value)


def action_name(action: Any) -> str:
    """The wire name of an action given as a name, an :class:`Action` class or an instance.

    >>> class Time(Action):
    ...     name = "time"
    >>> action_name(Time), action_name("echo")
    ('time', 'echo')
    """
    if isinstance(action, str):
        return action
    cls = action if isinstance(action, type) else type(action)
    found = getattr(cls, "name", None)
    if isinstance(found, str) and found:
        return found
    if isinstance(action, type) or isinstance(action, Action):
        return cls.__name__
    raise IsockError("INVALID_ARGUMENT", f"an action is a name or an Action, not {action!r}")


class Handler:
    """How to run one registered action: its function and what kind of function it is."""

    __slots__ = ("name", "function", "takes_context", "is_async", "is_async_gen", "is_gen", "idempotent", "input")

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        idempotent: bool = False,
        input: Callable[[Any], Any] | None = None,
    ) -> None:
        if name.startswith(RESERVED_PREFIX):
            raise IsockError("INVALID_ARGUMENT", f"action names starting {RESERVED_PREFIX!r} are reserved")
        if input is not None and not callable(input):
            raise IsockError("INVALID_ARGUMENT", f"an input check is a callable, not {input!r}")
        self.name = name
        self.function = function
        self.idempotent = idempotent
        self.input = input
        self.is_async_gen = inspect.isasyncgenfunction(function)
        self.is_async = inspect.iscoroutinefunction(function)
        self.is_gen = inspect.isgeneratorfunction(function)
        try:
            parameters = [
                parameter
                for parameter in inspect.signature(function).parameters.values()
                if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            ]
            has_varargs = any(
                parameter.kind is parameter.VAR_POSITIONAL
                for parameter in inspect.signature(function).parameters.values()
            )
        except (TypeError, ValueError):
            parameters, has_varargs = [], True
        self.takes_context = len(parameters) >= 2 or has_varargs

    @property
    def streams(self) -> bool:
        """Whether every call streams its result (a generator)."""
        return self.is_async_gen or self.is_gen


def make_handler(
    action: Any,
    function: Callable[..., Any] | None = None,
    input: Callable[[Any], Any] | None = None,
) -> Handler:
    """A :class:`Handler` for ``add_action(action)`` or ``add_action(name, function)``."""
    if function is not None:
        return Handler(action_name(action), function, input=input)
    if isinstance(action, type):
        raise IsockError("INVALID_ARGUMENT", f"add an instance of {action.__name__}, not the class")
    if not isinstance(action, Action) and not callable(getattr(action, "action", None)):
        raise IsockError("INVALID_ARGUMENT", f"an action has an action(self, data) method: {action!r}")
    check = input if input is not None else getattr(action, "input", None)
    return Handler(action_name(action), action.action, bool(getattr(action, "idempotent", False)), check)


def check_input(check: Callable[[Any], Any], data: Any) -> list[dict[str, Any]]:
    """The issues ``check`` finds in ``data`` (an empty list when it passes).

    A check raises (an exception with an ``issues`` list, or any other: its message is the
    issue), or returns issues: a list of strings or ``{"message", "path"}`` dicts, ``None`` or
    ``[]`` when the data is good.

    >>> def percent(value):
    ...     if not isinstance(value, (int, float)) or not 0 <= value <= 100:
    ...         return ["a percent is a number from 0 to 100"]
    >>> check_input(percent, 50), check_input(percent, 150)
    ([], [{'message': 'a percent is a number from 0 to 100', 'path': []}])
    """
    try:
        found = check(data)
    except Exception as error:
        found = getattr(error, "issues", None)
        if not isinstance(found, list) or not found:
            found = [str(error) or type(error).__name__]
    if found is None or found is True:
        return []
    if found is False:
        found = ["the input was refused"]
    if isinstance(found, (str, dict)):
        found = [found]
    issues = []
    for issue in found:
        if isinstance(issue, dict):
            path = issue.get("path", [])
            issues.append({
                "message": str(issue.get("message", "")),
                "path": [part if type(part) in (str, int) else str(part) for part in path]
                if isinstance(path, (list, tuple)) else [],
            })
        else:
            issues.append({"message": str(issue), "path": []})
    return issues
