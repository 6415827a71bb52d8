"""An ASGI app called through granian's RSGI interface (`call_asgi`), and what RSGI hands over.

The tracker serves `/c/{code}` natively over RSGI (`TrackerApp.__rsgi__`): no scope dict, no
send messages, headers read lazily by name, a synchronous response call: 5-17% more redirects/s
than the same code over ASGI (`make bench-tracker BENCH_ARGS=--asgi`). Everything
else (health, metrics, postbacks, HEAD, errors) is the ASGI app, called through this adapter,
so every rule lives in one place.

What RSGI changes, and how it is handled:
- Header values are `str`, and granian leaves out a value that is not visible ASCII: `get`
  returns None, `items()` skips it, only `in` still sees the name. Both paths log such a
  User-Agent as `UNREADABLE_USER_AGENT`, classed like any other by the bot patterns (which it
  does not match: non-ASCII is no sign of a bot), and such a Referer as "".
- The client is one "host:port" string, an IPv6 host in brackets (`peer_host`).
- The body arrives in chunks from `async for`: passed on as `more_body` messages, so the
  postbacks' size limit still stops reading early.
"""

from __future__ import annotations

from typing import Any

# What the hot path logs for a User-Agent header it cannot read (see above).
UNREADABLE_USER_AGENT = "(not ascii)"

_ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}


def peer_host(client: str) -> str:
    """The address of RSGI's "host:port" client ("[v6]:port" for IPv6)."""
    host = client.rpartition(":")[0]
    return host[1:-1] if host.startswith("[") else host


def _host_port(address: str) -> tuple[str, int] | None:
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return None
    return (host[1:-1] if host.startswith("[") else host), int(port)


def asgi_scope(scope: Any) -> dict[str, Any]:
    """The ASGI HTTP scope of an RSGI one."""
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in scope.headers.items()
    ]
    if "user-agent" in scope.headers and scope.headers.get("user-agent") is None:
        # present but unreadable: not the same as absent (an empty User-Agent is a bot's)
        headers.append((b"user-agent", UNREADABLE_USER_AGENT.encode()))
    return {
        "type": "http",
        "asgi": _ASGI_VERSION,
        "http_version": scope.http_version,
        "method": scope.method,
        "scheme": scope.scheme,
        "path": scope.path,
        "query_string": scope.query_string.encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": _host_port(scope.client),
        "server": _host_port(scope.server),
        "state": {},
    }


async def call_asgi(app: Any, scope: Any, proto: Any) -> None:
    """Answers an RSGI HTTP request with ASGI `app`; the response is sent whole at the end
    (the tracker's other routes answer small bodies)."""
    chunks = proto.__aiter__()
    done = False

    async def receive() -> dict[str, Any]:
        nonlocal done
        if done:
            await proto.client_disconnect()
            return {"type": "http.disconnect"}
        try:
            body = await chunks.__anext__()
        except StopAsyncIteration:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": bytes(body), "more_body": True}

    status = 500
    headers: list[tuple[str, str]] = []
    body: list[bytes] = []
    sent = False

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers, sent
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in message.get("headers", ())
                # granian writes the length of the body it is given
                if name.lower() != b"content-length"
            ]
        elif message["type"] == "http.response.body" and not sent:
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                sent = True
                proto.response_bytes(status, headers, b"".join(body))

    await app(asgi_scope(scope), receive, send)
    if not sent:  # the app returned without a complete response: a bug, answered as one
        proto.response_bytes(500, [("content-type", "text/plain")], b"Internal Server Error")
