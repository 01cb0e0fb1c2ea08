"""The client's real address and scheme behind trusted proxies (WSGI).

X-Forwarded-For and X-Forwarded-Proto are believed only when the connecting peer is one
of SNAPSCALE_FORWARDED_ALLOW_IPS; from anyone else they are a client's claim and ignored.
The rule is the one the API applies (uvicorn's ProxyHeadersMiddleware), so both front
ends see the same client: each proxy appends the address it received the request from,
so the client is the nearest address in the list that is not itself a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from snapscale.core.ratelimit import UNIX_SOCKET_PEER

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")


class TrustedProxies:
    def __init__(self, app: WSGIApplication, trusted: Iterable[str]) -> None:
        self.app = app
        entries = set(trusted)
        # A peer on a unix socket has no address (gunicorn leaves REMOTE_ADDR empty).
        self.trusts_unix_socket = UNIX_SOCKET_PEER in entries
        self.networks: list[Network] = [
            ipaddress.ip_network(entry, strict=False) for entry in entries - {UNIX_SOCKET_PEER}
        ]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR") or ""
        if (not peer and self.trusts_unix_socket) or (peer and self.is_trusted(peer)):
            scheme = environ.get("HTTP_X_FORWARDED_PROTO", "").strip()
            if scheme in SCHEMES:
                environ["wsgi.url_scheme"] = scheme
            client = self.client(environ.get("HTTP_X_FORWARDED_FOR", ""))
            if client:
                environ["REMOTE_ADDR"] = client
        return self.app(environ, start_response)

    def is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client(self, forwarded_for: str) -> str:
        hosts = [_host(entry.strip()) for entry in forwarded_for.split(",")]
        for host in reversed(hosts):
            if not self.is_trusted(host):
                return host
        # Every hop is a trusted proxy: the first one is as close to a client as there is.
        return hosts[0]


def _host(entry: str) -> str:
    """The address of an X-Forwarded-For entry, without a port if one was given."""
    if entry.startswith("["):  # [v6]:port
        return entry[1 : entry.find("]")] if "]" in entry else entry
    if entry.count(":") == 1:  # v4:port
        return entry.partition(":")[0]
    return entry
