"""The SSRF guard on webhook URLs: push only to https on public addresses.

A bureau admin registering `http://10.0.0.5/` or `https://169.254.169.254/` would turn the
publisher into a probe of its own network; embedded runs (`YIBAO_WEBHOOK_ALLOW_PRIVATE=1`)
accept http and private/loopback addresses so a local receiver works.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks under the current policy."""


def parse_webhook_url(url: str, *, allow_private: bool) -> tuple[str, int]:
    """Check scheme and shape; return (host, port) to resolve."""
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrl(f"scheme must be {' or '.join(allowed)}")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("credentials in the URL are not accepted; use the signing secret")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("the port is not a number in 1–65535") from exc
    return parts.hostname, port


def check_addresses(addresses: Iterable[str], *, allow_private: bool) -> None:
    """Every address the host resolves to must be public (unless private ones are allowed)."""
    resolved = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    if not resolved:
        raise UnsafeUrl("the host does not resolve")
    if allow_private:
        return
    for address in resolved:
        if not address.is_global:
            raise UnsafeUrl(f"{address} is not a public address")
