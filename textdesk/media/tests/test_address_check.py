"""Inbound media URLs come from webhooks: they may not point into our own network (SSRF)."""

import pytest

from textdesk.media.fetch import check_addresses, why_refused
from textdesk.media.storage import MediaRefused


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # carrier-grade NAT
        ("fd00::1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud instance metadata and credentials
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:10.1.2.3", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
    ],
)
def test_private_loopback_link_local_and_other_special_addresses_are_refused(address, reason):
    assert why_refused(address) == reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "54.172.60.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address):
    assert why_refused(address) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "fd00::1"])
def test_allowing_private_addresses_lets_loopback_and_private_networks_through(address):
    assert why_refused(address, allow_private=True) is None


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fe80::1", "0.0.0.0", "::", "224.0.0.1", "::ffff:169.254.169.254"],
)
def test_link_local_unspecified_and_multicast_stay_refused_even_then(address):
    assert why_refused(address, allow_private=True) is not None


def test_a_host_is_refused_when_any_of_its_addresses_is_private():
    with pytest.raises(MediaRefused) as refused:
        check_addresses("media.example.com", ["93.184.215.14", "10.0.0.5"])

    assert (refused.value.code, refused.value.retryable) == ("address", False)
    assert "10.0.0.5" in refused.value.message


def test_a_host_with_only_public_addresses_gives_the_first_to_connect_to():
    assert check_addresses("media.example.com", ["93.184.215.14", "2606:2800::1"]) == (
        "93.184.215.14"
    )


def test_the_setting_decides_whether_private_addresses_may_be_fetched(settings):
    with pytest.raises(MediaRefused):
        check_addresses("localhost", ["127.0.0.1"])

    settings.MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES = True

    assert check_addresses("localhost", ["127.0.0.1"]) == "127.0.0.1"
