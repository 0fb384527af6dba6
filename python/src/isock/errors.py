"""The errors isock raises: every one is an :class:`IsockError` with a stable ``code``."""

from __future__ import annotations

from typing import Any


class IsockError(Exception):
    """The base of every error isock raises; ``code`` says why, as on the TypeScript side.

    Codes: ``CONNECT_FAILED``, ``TIMEOUT``, ``CANCELLED``, ``CONNECTION_CLOSED``,
    ``UNAUTHORIZED``, ``PROTOCOL``, ``FRAME_TOO_LARGE``, ``OVERLOADED``,
    ``UNKNOWN_ACTION``, ``ACTION_FAILED``, ``INVALID_INPUT``, ``INVALID_REQUEST``,
    ``STREAM_REQUIRED``, ``ENCODE_FAILED``, ``DECODE_FAILED``, ``DECODE_BUDGET``,
    ``INVALID_METADATA``, ``INVALID_ARGUMENT``.

    >>> error = IsockError("TIMEOUT", "no answer within 1 s")
    >>> (error.code, str(error))
    ('TIMEOUT', 'no answer within 1 s')
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def message(self) -> str:
        """The message, as ``str(error)``."""
        return str(self.args[0]) if self.args else ""


class ClientException(IsockError):
    """A client that could not reach its server (``code`` ``CONNECT_FAILED``), or lost it.

    The seed's name, kept: ``except ClientException`` still catches "the server is not there".

    >>> issubclass(ClientException, IsockError)
    True
    """


class CodecError(IsockError):
    """A value that cannot be encoded (``ENCODE_FAILED``) or decoded (``DECODE_FAILED``, ``DECODE_BUDGET``).

    >>> from isock.codec import encode
    >>> try:
    ...     encode(print)
    ... except CodecError as error:
    ...     error.code
    'ENCODE_FAILED'
    """


class RemoteError(IsockError):
    """An error the other side sent back: the action raised (``ACTION_FAILED``), or refused the call.

    ``remote_name`` is the name of the error raised over there (``TypeError``, ``ValueError``),
    ``fields`` the error's own fields (such as an HTTP ``status``), ``issues`` the schema's
    complaints for ``INVALID_INPUT``, ``remote_stack`` its stack when the server sends stacks.

    >>> error = RemoteError("ACTION_FAILED", "Http", "not found", fields={"status": 404})
    >>> (error.code, error.remote_name, str(error), error.fields["status"])
    ('ACTION_FAILED', 'Http', 'not found', 404)
    """

    def __init__(
        self,
        code: str,
        remote_name: str,
        message: str,
        *,
        fields: dict[str, Any] | None = None,
        issues: list[dict[str, Any]] | None = None,
        remote_stack: str | None = None,
        cause: Any = None,
    ) -> None:
        super().__init__(code, message)
        self.remote_name = remote_name
        self.fields: dict[str, Any] = fields if fields is not None else {}
        self.issues: list[dict[str, Any]] = issues if issues is not None else []
        self.remote_stack = remote_stack
        self.remote_cause = cause
