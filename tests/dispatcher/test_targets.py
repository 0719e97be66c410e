"""Where webhooks may go: URL shape, address classes, the allowlist, and the resolver guard.

Everything resolves without a network: IP literals, and ``localhost`` from /etc/hosts.
"""

from __future__ import annotations

import pytest

from telecast_dispatcher.settings import DispatcherSettings
from telecast_dispatcher.webhooks.targets import (
    GuardedResolver,
    InvalidTarget,
    TargetPolicy,
    TargetRefused,
    parse_allowlist,
    parse_target,
)
from telecast_libs.settings import SettingsError, load_settings

STRICT = TargetPolicy()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("example.com/hook", "only http and https"),
        ("http://user:pw@example.com/", "credentials"),
        ("https://token@example.com/", "credentials"),
        ("http:///path", "no host"),
        ("http://exa mple.com/", "spaces"),
        ("http://example.com:99999/", "malformed"),
        ("http://exa$mple.com/", "not a valid hostname"),
    ],
)
def test_malformed_or_unsupported_urls_are_invalid(url: str, message: str) -> None:
    with pytest.raises(InvalidTarget, match=message):
        parse_target(url)


def test_a_url_is_taken_apart() -> None:
    target = parse_target("HTTPS://Hooks.Example.COM./in?x=1")
    assert (target.scheme, target.host, target.port, target.address) == (
        "https",
        "hooks.example.com",
        443,
        None,
    )
    literal = parse_target("http://[2001:db8::1]:8080/")
    assert str(literal.address) == "2001:db8::1" and literal.port == 8080


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("192.0.2.1", "private"),
        # IPv4 inside IPv6 is judged as the IPv4 address it reaches.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    why = STRICT.refusal("host", address, 443)
    assert why is not None and f"a {kind} address" in why
    assert "WEBHOOK_ALLOWED_HOSTS" in why


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert STRICT.refusal("host", address, 8080) is None


def test_the_allowlist_admits_hosts_addresses_and_ranges_on_their_ports() -> None:
    policy = TargetPolicy.from_setting(
        " 127.0.0.1, 10.0.0.0/8:9000 ,Hooks.Internal.:8443, [::1]:*, fd00::/8, db.internal:* "
    )
    # No port named: the web ports only.
    assert policy.refusal("x", "127.0.0.1", 443) is None
    assert policy.refusal("x", "127.0.0.1", 80) is None
    assert policy.refusal("x", "127.0.0.1", 5432) is not None
    assert policy.refusal("x", "10.200.3.4", 9000) is None
    assert policy.refusal("x", "10.200.3.4", 443) is not None
    assert policy.refusal("x", "::1", 6379) is None  # every port, as asked
    assert policy.refusal("x", "fd00::7", 443) is None
    assert policy.refusal("x", "127.0.0.2", 443) is not None
    assert policy.refusal("x", "192.168.0.1", 443) is not None
    assert policy.host_allowlisted("hooks.internal", 8443)
    assert policy.host_allowlisted("HOOKS.internal.", 8443)
    assert not policy.host_allowlisted("hooks.internal", 443)
    assert policy.host_allowlisted("db.internal", 5432)
    assert not policy.host_allowlisted("other.internal", 443)


@pytest.mark.parametrize(
    "value", ["http://x", "a b", "10.0.0.0/33", "*.example.com", "host:0", "host:x", "[::1]x"]
)
def test_a_bad_allowlist_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValueError):
        parse_allowlist(value)
    env = {
        "DATABASE_URL": "postgresql://u@h/d",
        "TELECAST_ENV": "development",
        "WEBHOOK_ALLOWED_HOSTS": value,
    }
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOWED_HOSTS"):
        load_settings(DispatcherSettings, env)


def test_settings_shrink_through_the_environment() -> None:
    settings = load_settings(
        DispatcherSettings,
        {
            "DATABASE_URL": "postgresql://u@h/d",
            "TELECAST_ENV": "development",
            "WEBHOOK_TIMEOUT_SECONDS": "0.5",
            "WEBHOOK_MAX_ATTEMPTS": "3",
        },
    )
    assert (settings.webhook_timeout_seconds, settings.webhook_max_attempts) == (0.5, 3)
    assert settings.metrics_port == 9103
    with pytest.raises(SettingsError, match="WEBHOOK_RETRY_JITTER"):
        load_settings(
            DispatcherSettings,
            {
                "DATABASE_URL": "postgresql://u@h/d",
                "TELECAST_ENV": "development",
                "WEBHOOK_RETRY_JITTER": "1.5",
            },
        )


async def test_check_judges_literals_and_resolved_names() -> None:
    await STRICT.check("https://8.8.8.8/hook")
    with pytest.raises(TargetRefused, match="loopback"):
        await STRICT.check("http://127.0.0.1:8080/hook")
    # localhost resolves (from /etc/hosts) to loopback addresses: refused unless allowed.
    with pytest.raises(TargetRefused, match="localhost resolves to"):
        await STRICT.check("http://localhost/hook")
    await TargetPolicy.from_setting("localhost").check("http://localhost/hook")
    await TargetPolicy.from_setting("127.0.0.1,::1").check("http://localhost/hook")
    with pytest.raises(TargetRefused, match="port 5432"):
        await TargetPolicy.from_setting("127.0.0.1,::1").check("http://localhost:5432/hook")
    with pytest.raises(TargetRefused, match="does not resolve"):
        await STRICT.check("http://no-such-host.invalid/")


async def test_a_name_that_resolves_to_a_private_address_among_public_ones_is_refused() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(TargetRefused, match=r"10\.0\.0\.7, a private address"):
        await STRICT.check("https://hooks.example.com/", rebinding)


async def test_the_resolver_guard_refuses_what_the_policy_forbids() -> None:
    guarded = GuardedResolver(STRICT)
    with pytest.raises(TargetRefused):
        await guarded.resolve("localhost", 80)
    allowed = GuardedResolver(TargetPolicy.from_setting("localhost"))
    results = await allowed.resolve("localhost", 80)
    assert results and all(r["host"] in ("127.0.0.1", "::1") for r in results)
    await guarded.close()
    await allowed.close()
