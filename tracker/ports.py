"""Refusing a port that another process already listens on, before a server starts.

granian binds with SO_REUSEPORT, so a second tracker on a taken port would start silently and
share the connections with the first; uvicorn reports a taken port only once it is starting.
A probe bind without SO_REUSEPORT fails while anything listens there.
"""

from __future__ import annotations

import errno
import socket

from tracker.settings import SettingError


class PortInUse(SettingError):
    def __init__(self, port: int, variable: str) -> None:
        self.variable, self.value = variable, str(port)
        self.problem = "already in use"
        fix = (
            f"pass a free {variable}"
            if variable.startswith("--")
            else f"set {variable} to a free port"
        )
        Exception.__init__(
            self, f"port {port} is already in use ({variable}); stop the other process or {fix}"
        )


def ensure_free(host: str, port: int, port_variable: str, host_variable: str) -> None:
    """Raises `PortInUse` when something listens on host:port, `SettingError` when nothing can
    listen there at all (an unknown host, an address of another machine)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise SettingError(host_variable, host, f"cannot listen there: {exc.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        # as servers do: connections of an earlier run in TIME_WAIT do not count
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(port, port_variable) from None
            raise SettingError(
                host_variable, host, f"cannot listen on port {port}: {exc.strerror}"
            ) from None
