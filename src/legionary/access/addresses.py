"""The client's address, and the client it counts as, for the sign-in lockout and the public limits.

Responsible for the one answer to "who is asking, by address" that django-axes
(``AXES_CLIENT_IP_CALLABLE``) and the public rate limits (applications, receipt checks) share:

- the address is the connection's (``REMOTE_ADDR``), unless the connection comes from a proxy named
  in ``LEGIONARY_TRUSTED_PROXIES``; then it is the right-most ``X-Forwarded-For`` entry that is not
  itself a trusted proxy (what our own proxies saw), so a client cannot forge it;
- the client it counts as is that IPv4 address, or the IPv6 /64 it lies in (one subscriber usually
  holds a whole /64, so a new address in it is not a new client). IPv4-mapped IPv6 is IPv4.

Must never: believe a forwarded header from anyone but a configured proxy; log an address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in configured)


def _parse(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(request: HttpRequest) -> str:
    """The address of the client behind this request, as our own proxies saw it."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = _networks(tuple(getattr(settings, "LEGIONARY_TRUSTED_PROXIES", ())))
    connected = _parse(remote)
    if connected is None or not proxies or not _trusted(connected, proxies):
        return remote
    hops = [hop for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
    client: IPAddress = connected
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            break
        client = parsed
        if not _trusted(parsed, proxies):
            break
    return str(client)


def client_bucket(address: str) -> str:
    """The client an address counts as: the IPv4 address itself, or the network address of its IPv6 /64."""
    parsed = _parse(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(parsed) >> 64 << 64, 64)).network_address)
    return str(parsed)


def axes_client_address(request: HttpRequest) -> str:
    """What django-axes counts failed sign-ins against (together with the username)."""
    return client_bucket(client_address(request))
