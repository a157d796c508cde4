"""The client's address: REMOTE_ADDR, or the proxy's X-Forwarded-For when TRUSTED_PROXIES says a proxy is in front.

Login lockouts (django-axes) and rate limits count per client address. Without a trusted
proxy, X-Forwarded-For is the client's own claim and is ignored; behind one, the address is
the last hop that is not one of our proxies (the entries to its left are the client's claim).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not _is_trusted(_address(remote), networks):
        return remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    nearest = remote
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a malformed entry: keep the last address a trusted proxy vouched for
        if not _is_trusted(address, networks):
            return str(address)
        nearest = str(address)
    return nearest
