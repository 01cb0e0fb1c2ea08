"""The ceiling: a raw ASGI callable with no framework, no database and no work, served by
the same server as Snapscale's API (gunicorn with uvicorn workers):

    gunicorn -k uvicorn_worker.UvicornWorker --workers N bench.peers.bare_asgi:app

Every request, on any path and with any method, reads the whole request body (so an
upload sent here measures merely receiving its bytes) and answers the same 60-byte JSON
document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY = b'{"id":1,"username":"user1","display_name":"User1","bio":"h"}'
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    more_body = True
    while more_body:
        message = await receive()
        more_body = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
