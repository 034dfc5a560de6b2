"""Where a webhook may be sent (SPEC §11): ``https`` only, and never to a loopback,
private, link-local, multicast or otherwise non-public address, unless the host is listed
in ``REGISTRY_WEBHOOK_ALLOWED_HOSTS`` (names, addresses or CIDRs; a listed host may use
``http``). Checked when a subscription is created and again before every delivery, on
every address the name resolves to; the sender then connects to the checked address
itself, so a DNS answer that changes between check and connect cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_RESOLVE_SECONDS = 5.0


class TargetRefused(Exception):
    """The URL may not be a webhook target; ``reason`` says why (shown to the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AllowedHosts:
    names: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, text: str) -> AllowedHosts:
        names: set[str] = set()
        networks: list[Network] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            try:
                networks.append(ipaddress.ip_network(part.strip("[]"), strict=False))
            except ValueError:
                names.add(part.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def lists_name(self, host: str) -> bool:
        return host in self.names

    def lists_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


@dataclass(frozen=True)
class Target:
    """A checked URL: the addresses to connect to (every one checked, tried in order), and
    the name for Host and TLS."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[IPAddress, ...]

    def connect_url(self, address: IPAddress) -> str:
        """The URL with a checked address in place of the name."""
        ip = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{ip}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[IPAddress] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64 or address in _NAT64_LOCAL:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def not_public(address: IPAddress) -> str | None:
    """Why ``address`` is no public unicast address, or None when it is one."""
    for candidate in (address, *_embedded(address)):
        for name in ("loopback", "private", "link_local", "multicast", "unspecified", "reserved"):
            if getattr(candidate, f"is_{name}"):
                return f"{address} is a {name.replace('_', '-')} address"
        if not candidate.is_global:
            return f"{address} is not a public address"
    return None


def _parts(url: str) -> SplitResult:
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise TargetRefused("the url contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        raise TargetRefused(f"the url is not valid: {exc}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("the url must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the url must not carry credentials")
    return parts


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(_RESOLVE_SECONDS):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:  # before OSError, of which it is a subclass
        raise TargetRefused(f"the host {host!r} did not resolve in time") from None
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"the host {host!r} does not resolve: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"the host {host!r} does not resolve")
    return list(dict.fromkeys(addresses))


async def check_target(url: str, allowed: AllowedHosts) -> Target:
    """The checked target of ``url``, or ``TargetRefused`` naming the reason."""
    parts = _parts(url)
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await _resolve(host, port)
    listed = allowed.lists_name(host) or all(allowed.lists_address(a) for a in addresses)
    if parts.scheme != "https" and not listed:
        raise TargetRefused("the url must use https (http only for an allowed host)")
    if not listed:
        for address in addresses:
            reason = not_public(address)
            if reason is not None:
                raise TargetRefused(reason if host == str(address) else f"{host}: {reason}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url, parts.scheme, host, port, path, tuple(addresses))
