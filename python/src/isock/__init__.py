"""isock for Python: call actions of an isock server (TypeScript or Python) by name, or serve them.

The seed's API, synchronous, with threads::

    import threading
    from isock import Server, Client, Action

    class Echo(Action):
        def action(self, data):
            return data

    server = Server("127.0.0.1", 0)
    server.addAction(Echo())
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    client = Client("127.0.0.1", server.port)
    print(client.runAction(Echo, "Echo test!"))
    client.close()
    server.shutdown(); server.server_close(); thread.join()

``isock.aio`` has the same on asyncio. PROTOCOL.md describes the wire protocol.
"""

from . import aio
from .action import Action, Context, Tracked, action_name, tracked
from .codec import INVALID_DATE, ErrorValue, Extension, InvalidDate, RegExp, decode, encode
from .errors import ClientException, CodecError, IsockError, RemoteError
from .sync import Client, Server

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Client",
    "ClientException",
    "CodecError",
    "Context",
    "ErrorValue",
    "Extension",
    "INVALID_DATE",
    "InvalidDate",
    "IsockError",
    "RegExp",
    "RemoteError",
    "Server",
    "Tracked",
    "action_name",
    "aio",
    "decode",
    "encode",
    "tracked",
]
