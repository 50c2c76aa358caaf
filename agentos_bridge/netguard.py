"""Which network addresses an agent server may live at (SSRF defence).

Link-local addresses (169.254.0.0/16, fe80::/10, where cloud metadata services
answer), the metadata addresses themselves, unspecified, multicast and reserved
addresses are refused always. Private and loopback networks are allowed by default,
since agent servers usually live there; ``TARGETS_ALLOW_PRIVATE_NETWORKS=false``
refuses them too.

The rule is checked twice: when a target is saved (its host as written and as it
resolves then) and at every connection (the address actually dialled, so a name that
resolves elsewhere later, DNS rebinding, is caught). The connection is made to the
address that was checked, never resolved a second time.
"""

import ipaddress
import socket

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

ALLOWED_SCHEMES = ("http", "https")
# Cloud metadata services outside link-local ranges (AWS IPv6, Alibaba, Oracle).
METADATA = {
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("192.0.0.192"),
}
BLOCKED_MESSAGE = "blocked address"


def allow_private_networks() -> bool:
    from django.conf import settings

    return getattr(settings, "TARGETS_ALLOW_PRIVATE_NETWORKS", True)


def address_problem(address: str) -> str | None:
    """Why an agent server may not live at this IP address, or None."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in METADATA or ip.is_link_local:
        return f"{ip} is a link-local or cloud metadata address"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return f"{ip} is not a host address"
    if (ip.is_private or ip.is_loopback) and not allow_private_networks():
        return f"{ip} is on a private or loopback network (TARGETS_ALLOW_PRIVATE_NETWORKS=false)"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (raises socket.gaierror)."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class _Guarded:
    """Resolve, check every address, then dial only a checked one."""

    def _new_conn(self):
        name = self._dns_host
        try:
            addresses = resolve(name, self.port)
        except socket.gaierror:
            return super()._new_conn()  # urllib3 names the DNS failure itself
        for address in addresses:
            if problem := address_problem(address):
                raise NewConnectionError(self, f"{BLOCKED_MESSAGE}: {name} -> {problem}")
        # Dial the checked address, not the name: a second lookup could answer otherwise.
        # TLS still verifies the certificate against the name (self.host is restored).
        self._dns_host = addresses[0]
        try:
            return super()._new_conn()
        finally:
            self._dns_host = name


class GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go through the address check."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }
