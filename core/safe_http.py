"""Fetching a URL an outsider chose, without letting them aim it inside.

``fetch_public`` resolves the host once, refuses the request when any address
is not a public one (private, loopback, link-local, shared, reserved,
multicast, unspecified, IPv4-mapped versions of those) unless the caller allows
private addresses, then connects to that very address (the host name is sent
as ``Host`` and checked in the TLS certificate), so a DNS answer that changes
between the check and the connection (rebinding) is never followed. No
redirects; a total deadline and a size cap.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3

DEFAULT_TIMEOUT = 5.0
CHUNK = 8192


class UnsafeURL(Exception):
    """The URL names a host this server must not reach, or cannot be read."""


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The one address to connect to; raises UnsafeURL."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL("the host could not be resolved") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeURL("the host could not be resolved")
    if not allow_private and not all(_is_public(a) for a in addresses):
        raise UnsafeURL("the host resolves to an address that is not public")
    return addresses[0]


def fetch_public(
    url: str,
    *,
    max_bytes: int,
    allow_private: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> Fetched:
    """GET ``url`` (http or https) from a public address only. Raises
    UnsafeURL for a refused host, a failed connection, a body over
    ``max_bytes`` or a response slower than ``timeout`` seconds in all."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("only http and https URLs with a host are fetched")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL("the port is not valid") from exc
    host = parts.hostname
    address = resolve(host, port, allow_private=allow_private)
    deadline = time.monotonic() + timeout
    pool_timeout = urllib3.Timeout(connect=timeout, read=timeout)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=pool_timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=host,
            assert_hostname=host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(  # type: ignore[assignment]
            address, port, timeout=pool_timeout, retries=False
        )
    default_port = 443 if parts.scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host:  # an IPv6 literal
        host_header = f"[{host}]" + (f":{port}" if port != default_port else "")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "GET",
            path,
            headers={"Host": host_header, "Accept": "text/plain, */*"},
            redirect=False,
            preload_content=False,
        )
        body = bytearray()
        try:
            while True:
                if time.monotonic() > deadline:
                    raise UnsafeURL("the response took too long")
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise UnsafeURL(f"the response is larger than {max_bytes} bytes")
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise UnsafeURL("the host could not be reached") from exc
    finally:
        pool.close()
    return Fetched(status=response.status, body=bytes(body))
