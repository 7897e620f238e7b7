"""Fetching one linked page safely: every hop checked, every connection to an address just checked (no DNS
rebinding to a private address), the body capped in size and time."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from urllib.parse import urljoin

import httpcore
import httpx

from tutor.config import Settings
from tutor.notes.articles import FetchError

USER_AGENT = "tutor/0.1 (+offline study tutor; reference fetcher)"
TEXT_TYPES = {"text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf"}


def make_client(settings: Settings) -> httpx.Client:
    """The client `fetch_url` should get: every connection it opens goes to an address `_resolve` has just checked."""
    transport = _checked_transport(settings.allow_private_links)
    return httpx.Client(transport=transport, follow_redirects=False, headers={"User-Agent": USER_AGENT})


def _checked_transport(allow_private: bool) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    # httpx has no public hook for httpcore's network backend: swap in a pool that uses ours, with httpx's TLS context
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), keepalive_expiry=5.0, network_backend=_CheckedBackend(allow_private)
    )
    return transport


class _CheckedBackend(httpcore.NetworkBackend):
    """Resolves the host once, checks every address, then connects to a checked IP itself, so a DNS answer that
    changes between the check and the connect (DNS rebinding) cannot reach a private address. The TLS server name,
    certificate check and Host header still use the hostname: httpcore takes them from the URL, not from here."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in _resolve(host, port, self._allow_private):
            try:  # an IP literal: connecting to it never asks DNS again
                return self._tcp.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        raise error


def _resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """The host's addresses in resolver order; FetchError if DNS fails or, unless allowed, any address is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError(f"offline or DNS failure: {host}: {e}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if allow_private:
        return addresses
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:  # ::ffff:127.0.0.1 is loopback too
            ip = ip.ipv4_mapped
        flags = (ip.is_loopback, ip.is_private, ip.is_link_local, ip.is_reserved, ip.is_multicast, ip.is_unspecified)
        if any(flags) or not ip.is_global:
            hint = "(set TUTOR_ALLOW_PRIVATE_LINKS=1 to allow)"
            raise FetchError(f"refused: {host} is a private or loopback address {hint}", refused=True)
    return addresses


def _check_url(url: httpx.URL, settings: Settings) -> None:
    if url.scheme not in ("http", "https"):
        raise FetchError("refused: only http and https links are fetched", refused=True)
    host = url.raw_host.decode("ascii")
    if not host:
        raise FetchError("invalid URL: no host")
    if not settings.allow_private_links:  # early refusal for any client; `_CheckedBackend` re-checks at connect time
        _resolve(host, url.port or (443 if url.scheme == "https" else 80), allow_private=False)


def fetch_url(
    url: str,
    settings: Settings,
    *,
    timeout: tuple[float, float] = (5.0, 15.0),
    max_bytes: int = 5_000_000,
    max_redirects: int = 5,
    client: httpx.Client,
) -> tuple[str, str, str | None, bytes]:
    """GET one page with every hop checked; returns (final url, content type, charset, body) or raises FetchError.

    Pass a client from `make_client`: only its connections are checked at connect time (against DNS rebinding).
    """
    connect, read = timeout
    limits = httpx.Timeout(read, connect=connect)
    deadline = time.monotonic() + connect + 2 * read
    try:
        current = httpx.URL(url)
        for _hop in range(max_redirects + 1):
            _check_url(current, settings)
            with client.stream(
                "GET", current, headers={"User-Agent": USER_AGENT}, timeout=limits, follow_redirects=False
            ) as resp:
                if resp.is_redirect:  # followed by hand so that every hop is checked again
                    current = httpx.URL(urljoin(str(current), resp.headers.get("location", "")))
                    continue
                if not 200 <= resp.status_code < 300:
                    raise FetchError(f"HTTP {resp.status_code}")
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype not in TEXT_TYPES:
                    raise FetchError(f"not text (content-type {ctype or 'missing'})")
                return str(resp.url), ctype, resp.charset_encoding, _read_capped(resp, max_bytes, deadline)
        raise FetchError("too many redirects")
    except httpx.TimeoutException:
        raise FetchError("timeout") from None
    except httpx.ConnectError as e:
        raise FetchError(f"offline or DNS failure: {str(e)[:120]}") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
        raise FetchError(f"invalid URL: {e}") from None
    except httpx.HTTPError as e:
        raise FetchError(f"network error: {type(e).__name__}: {str(e)[:120]}") from None


def _read_capped(resp: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    too_big = FetchError(f"body larger than {max_bytes / 1e6:g} MB")
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    body = bytearray()
    for chunk in resp.iter_bytes():
        body += chunk[: max_bytes + 1 - len(body)]  # never hold more than max_bytes + 1
        if len(body) > max_bytes:
            raise too_big
        if time.monotonic() > deadline:  # a server that drips bytes still ends
            raise FetchError("timeout")
    return bytes(body)
