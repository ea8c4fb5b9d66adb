"""Who is asking, by address: one function for the lockout and the public limits.

Found from outside and by an operator: five bad passwords for one account locked every staff
account behind the same office NAT; a new IPv6 address started a fresh allowance of applications;
``X-Forwarded-For`` was believed from anybody once a proxy count was set. Now the lockout counts an
account and an address together, public limits count an IPv6 /64 or an IPv4 address, and the
forwarded address is taken only from a configured proxy (``LEGIONARY_TRUSTED_PROXIES``).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from legionary.access.addresses import axes_client_address, client_address, client_bucket
from legionary.access.models import Staff
from tests.access.test_login import PASSWORD, current_code, sign_in
from tests.conftest import MakeStaff
from tests.intake.helpers import application

OFFICE_NAT = "198.51.100.7"


def _request(remote: str, forwarded: str | None = None) -> Any:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_the_forwarded_address_is_ignored_when_no_proxy_is_configured(settings: Any) -> None:
    settings.LEGIONARY_TRUSTED_PROXIES = []
    assert client_address(_request("192.0.2.1", "203.0.113.9")) == "192.0.2.1"


def test_the_forwarded_address_is_ignored_from_a_client_that_is_not_the_proxy(settings: Any) -> None:
    settings.LEGIONARY_TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]
    assert client_address(_request("192.0.2.1", "203.0.113.9")) == "192.0.2.1"


def test_the_forwarded_address_is_taken_from_the_configured_proxy(settings: Any) -> None:
    settings.LEGIONARY_TRUSTED_PROXIES = ["127.0.0.1/32", "10.0.0.0/8"]
    assert client_address(_request("127.0.0.1", "203.0.113.9")) == "203.0.113.9"
    # A forged entry to the left of what our proxies added is not believed.
    assert client_address(_request("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3")) == "203.0.113.9"
    # Rubbish from the proxy falls back to the proxy's own address, never to the rubbish.
    assert client_address(_request("127.0.0.1", "not-an-address")) == "127.0.0.1"


@given(st.ip_addresses(v=6), st.integers(min_value=0, max_value=2**64 - 1))
def test_every_address_of_one_ipv6_64_counts_as_one_client(address: ipaddress.IPv6Address, host: int) -> None:
    network = ipaddress.IPv6Network((int(address) >> 64 << 64, 64))
    other = network[host]
    if address.ipv4_mapped is None and other.ipv4_mapped is None:
        assert client_bucket(str(address)) == client_bucket(str(other))


@given(st.ip_addresses(v=4), st.ip_addresses(v=4))
def test_every_ipv4_address_counts_on_its_own(first: ipaddress.IPv4Address, second: ipaddress.IPv4Address) -> None:
    assert (client_bucket(str(first)) == client_bucket(str(second))) == (first == second)
    assert client_bucket("::ffff:" + str(first)) == client_bucket(str(first))


def test_axes_is_given_the_same_address_function() -> None:
    assert django_settings.AXES_CLIENT_IP_CALLABLE == "legionary.access.addresses.axes_client_address"
    assert axes_client_address(_request("2001:db8:1:2::99")) == "2001:db8:1:2::"


@pytest.mark.django_db
def test_five_failures_for_one_account_do_not_lock_another_behind_the_same_address(make_staff: MakeStaff) -> None:
    alice, bob = make_staff("alice", "intake_officer"), make_staff("bob", "intake_officer")
    nat = {"REMOTE_ADDR": OFFICE_NAT}
    for _ in range(5):
        Client(**nat).post("/login/", {"username": "alice", "password": "wrong", "code": "0"}, secure=True)
    assert sign_in(Client(**nat), "alice", PASSWORD, current_code(alice)).status_code == 429  # type: ignore[attr-defined]
    answer = sign_in(Client(**nat), "bob", PASSWORD, current_code(bob))
    assert answer.status_code == 302, answer.content[:300]  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_the_lockout_counts_each_client_behind_the_proxy_on_its_own(settings: Any, make_staff: MakeStaff) -> None:
    settings.LEGIONARY_TRUSTED_PROXIES = ["127.0.0.1/32"]
    alice: Staff = make_staff("alice", "intake_officer")
    attacker = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    for _ in range(5):
        Client(**attacker).post("/login/", {"username": "alice", "password": "wrong", "code": "0"}, secure=True)
    real = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert sign_in(real, "alice", PASSWORD, current_code(alice)).status_code == 302  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_a_new_ipv6_address_in_the_same_64_does_not_start_a_fresh_allowance(settings: Any) -> None:
    settings.LEGIONARY_APPLY_LIMIT = 1
    first = Client(REMOTE_ADDR="2001:db8:5:6::1").post(
        "/api/v1/applications", data=json.dumps(application()), content_type="application/json", secure=True
    )
    assert first.status_code == 201
    second = Client(REMOTE_ADDR="2001:db8:5:6:ffff::2").post(
        "/api/v1/applications",
        data=json.dumps(application(external_ref="another")),
        content_type="application/json",
        secure=True,
    )
    assert second.status_code == 429
    other_network = Client(REMOTE_ADDR="2001:db8:5:7::1").post(
        "/api/v1/applications",
        data=json.dumps(application(external_ref="third")),
        content_type="application/json",
        secure=True,
    )
    assert other_network.status_code == 201
