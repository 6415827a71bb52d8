"""A cap on the size of a request body (`API_MAX_BODY_BYTES`), before anything reads it.

A body that says it is larger (`Content-Length`) is refused with 413 before a byte of it is
read; a chunked body, or one larger than it said, is counted as it streams in and refused the
moment it passes the cap. Under the cap the body is read here and handed on whole, so the key
check, strawberry and the exports read it as before. This runs before the key check: a client
without a key cannot make the server hold a large body either.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _refusal(status: int, message: str, code: str) -> JSONResponse:
    # The GraphQL error shape: /graphql is the endpoint that takes bodies.
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        # The client may still be sending: tell it the connection is done with.
        headers={"Connection": "close"} if status == 413 else None,
    )


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = _refusal(
            413, f"the request body is larger than {self.max_bytes} bytes", "PAYLOAD_TOO_LARGE"
        )
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not length.isascii() or not length.isdigit():
                await _refusal(400, "Content-Length is not a number", "BAD_REQUEST")(
                    scope, receive, send
                )
                return
            if len(length) > 18 or int(length) > self.max_bytes:  # int() of 5,000 digits fails
                await too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)
