"""Where webhooks may go: http(s) URLs whose host is a public address, unless an operator
allowlists it (``WEBHOOK_ALLOWED_HOSTS``).

An allowlist entry names a host, an IP address or a CIDR range, with the port it opens:
``hooks.internal:8443``, ``10.0.0.0/8:9000``, ``[fd00::1]:8080``; without a port only the web
ports (80, 443) are open, and ``:*`` opens every port (an internal host's admin ports too:
name the port instead where you can).

The check runs when a subscription is saved, so that a bad target is refused with a clear
error, and again at every delivery inside the HTTP client's resolver, on the very addresses
it is about to connect to: DNS may answer differently between the two (rebinding).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
WEB_PORTS: frozenset[int] = frozenset({80, 443})
# The ports an allowlist entry opens; None: every port.
Ports = frozenset[int] | None


class InvalidTarget(ValueError):
    """The URL itself is not acceptable (scheme, shape, credentials)."""


class TargetRefused(OSError):
    """The target's address is not one webhooks may reach.

    An ``OSError`` so that the HTTP client treats a refusal from its resolver as a failure
    to connect, which it is.
    """


def _split_port(entry: str) -> tuple[str, Ports]:
    """``host[:port]`` (``[v6][:port]`` for IPv6) into the host and the ports it opens."""
    port: str | None = None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError("expected [address]:port")
            port = rest[1:]
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host = entry  # a name, an IPv4 address or range, or a bare IPv6 one: web ports
    if port is None:
        return host, WEB_PORTS
    if port == "*":
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{port!r} is not a port (1-65535, or * for every port)")
    return host, frozenset({int(port)})


def parse_allowlist(
    value: str,
) -> tuple[dict[str, Ports], tuple[tuple[IPNetwork, Ports], ...]]:
    """Hostnames and networks, with their ports, from ``WEBHOOK_ALLOWED_HOSTS``
    (comma-separated)."""
    hosts: dict[str, Ports] = {}
    networks: list[tuple[IPNetwork, Ports]] = []
    for raw in value.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            name, ports = _split_port(entry)
        except ValueError as error:
            raise ValueError(f"{raw.strip()!r}: {error}") from None
        try:
            networks.append((ipaddress.ip_network(name, strict=False), ports))
            continue
        except ValueError:
            pass
        host = name.rstrip(".")
        if not host or not set(host) <= _HOST_CHARACTERS or "/" in name:
            raise ValueError(f"{raw.strip()!r} is not a hostname, an IP address or a CIDR range")
        hosts[host] = _union(hosts.get(host, frozenset()), ports)
    return hosts, tuple(networks)


def _union(a: Ports, b: Ports) -> Ports:
    return None if a is None or b is None else a | b


def _opens(ports: Ports, port: int) -> bool:
    return ports is None or port in ports


def non_public_kind(address: IPAddress) -> str | None:
    """What makes an address off-limits ("loopback", "private", …), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address carried in IPv6 is judged as the IPv4 address it reaches.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return non_public_kind(embedded)
        if address.teredo is not None:
            return non_public_kind(address.teredo[1])
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    )
    return next((kind for kind, matched in checks if matched), None)


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what the policy needs to judge it."""

    url: str
    scheme: str
    host: str
    port: int
    # The host when it is an IP literal.
    address: IPAddress | None


@functools.lru_cache(maxsize=4096)
def parse_target(url: str) -> Target:
    """The URL taken apart (cached: the worker judges the same URLs again and again)."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InvalidTarget("the URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidTarget(f"the URL is malformed: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidTarget("only http and https URLs are accepted")
    if parts.username is not None or parts.password is not None:
        raise InvalidTarget(
            "credentials in the URL are not accepted; receivers authenticate deliveries "
            "by their signature"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidTarget("the URL has no host")
    address = _ip_literal(host)
    if address is None:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise InvalidTarget(f"{host!r} is not a valid hostname") from None
        if not set(host) <= _HOST_CHARACTERS:
            raise InvalidTarget(f"{host!r} is not a valid hostname")
    return Target(url, scheme, host, port or (443 if scheme == "https" else 80), address)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


Resolve = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (TCP)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class TargetPolicy:
    """Which hosts and addresses webhooks may reach."""

    def __init__(
        self,
        hosts: dict[str, Ports] | None = None,
        networks: Iterable[tuple[IPNetwork, Ports]] = (),
    ) -> None:
        self.hosts = dict(hosts or {})
        self.networks = tuple(networks)

    @classmethod
    def from_setting(cls, value: str) -> TargetPolicy:
        hosts, networks = parse_allowlist(value)
        return cls(hosts, networks)

    def host_allowlisted(self, host: str, port: int) -> bool:
        name = host.rstrip(".").lower()
        return name in self.hosts and _opens(self.hosts[name], port)

    def refusal(self, host: str, address: str | IPAddress, port: int) -> str | None:
        """Why ``address`` (of ``host``) may not be reached on ``port``, or None if it may."""
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        if any(ip in network and _opens(ports, port) for network, ports in self.networks):
            return None
        kind = non_public_kind(ip)
        if kind is None:
            return None
        named = f"{host} resolves to {ip}" if str(ip) != host else str(ip)
        return (
            f"{named}, a {kind} address, port {port}; webhooks go to public addresses only "
            "(an operator can allow it with WEBHOOK_ALLOWED_HOSTS, naming the port)"
        )

    async def check(
        self, url: str, resolve: Resolve = system_resolve, timeout: float = 3.0
    ) -> Target:
        """Parse and judge ``url``; raises ``InvalidTarget`` or ``TargetRefused``."""
        target = parse_target(url)
        if target.address is not None:
            self.check_literal(target)
            return target
        if self.host_allowlisted(target.host, target.port):
            return target
        try:
            addresses = await asyncio.wait_for(resolve(target.host, target.port), timeout)
        except (OSError, TimeoutError):
            raise TargetRefused(f"{target.host} does not resolve to an address") from None
        self.check_addresses(target.host, addresses, target.port)
        return target

    def check_literal(self, target: Target) -> None:
        if target.address is not None and (
            why := self.refusal(target.host, target.address, target.port)
        ):
            raise TargetRefused(why)

    def check_addresses(self, host: str, addresses: Iterable[str], port: int) -> None:
        """Every address must be allowed: the client may connect to any of them."""
        found = False
        for address in addresses:
            found = True
            if why := self.refusal(host, address, port):
                raise TargetRefused(why)
        if not found:
            raise TargetRefused(f"{host} does not resolve to an address")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing hosts that resolve to addresses the policy forbids.

    aiohttp connects to what its resolver returns (IP literals skip the resolver: the
    delivery worker checks those itself), so nothing else can slip in between.
    """

    def __init__(self, policy: TargetPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if not self.policy.host_allowlisted(host, port):
            self.policy.check_addresses(host.rstrip("."), [r["host"] for r in results], port)
        return results

    async def close(self) -> None:
        await self.inner.close()


def describe(target: Any) -> str:
    """``scheme://host:port`` of a URL, for logs: never its path or query (they may hold
    tokens)."""
    try:
        parts = urlsplit(str(target))
        return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}".rstrip(":")
    except ValueError:
        return "(unparseable url)"
