"""The SSRF guard on webhook URLs."""

from __future__ import annotations

import pytest
from disclosure_publisher.domain.urls import UnsafeUrl, check_addresses, parse_webhook_url


def test_https_to_a_public_address_is_accepted() -> None:
    assert parse_webhook_url("https://hooks.example.cn/yibao", allow_private=False) == (
        "hooks.example.cn",
        443,
    )
    check_addresses(["8.8.8.8", "2001:4860:4860::8888"], allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.cn/",
        "ftp://x/",
        "https:///nohost",
        "https://u:p@host/",
        "https://host:99999/",
    ],
)
def test_bad_urls_are_refused_outside_embedded_mode(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        parse_webhook_url(url, allow_private=False)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.1.1",
        "172.16.0.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "0.0.0.0",
        "100.64.0.1",
        "fe80::1%eth0",
    ],
)
def test_private_loopback_and_metadata_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_addresses(["8.8.8.8", address], allow_private=False)


def test_embedded_mode_accepts_http_and_loopback() -> None:
    assert parse_webhook_url("http://127.0.0.1:9000/hook", allow_private=True) == (
        "127.0.0.1",
        9000,
    )
    check_addresses(["127.0.0.1"], allow_private=True)


def test_a_host_that_resolves_to_nothing_is_refused() -> None:
    with pytest.raises(UnsafeUrl):
        check_addresses([], allow_private=True)
