"""NATS over TLS, as where its traffic leaves the host: a nats-server of the test's own with a
certificate from a CA made here (and client certificates required), and the services' one
connect function configured by NATS_URL=tls://…, NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import nats.errors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from telecast_campaign.settings import CampaignSettings
from telecast_devenv.embedded import EmbeddedNats
from telecast_devenv.platform import free_port
from telecast_libs import nats as tnats
from telecast_libs.settings import load_settings


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _issue(
    directory: Path, name: str, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA (``ca`` None), else a certificate it signs: the server's for 127.0.0.1, or a
    client's."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca[0].subject if ca else _name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    if ca is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    elif name == "server":
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False
        )
    certificate = builder.sign(ca[1] if ca else key, hashes.SHA256())
    _write(directory / name, certificate, key)
    return certificate, key


@dataclass
class TlsServer:
    server: EmbeddedNats
    certificates: Path

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.server.port}"

    def settings(self, **environment: str) -> CampaignSettings:
        return load_settings(
            CampaignSettings,
            {
                "DATABASE_URL": "postgresql://tls@localhost/unused",
                "TELECAST_ENV": "development",
                "NATS_URL": self.url,
                **environment,
            },
        )


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[TlsServer]:
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    ca = _issue(certificates, "ca", None)
    _issue(certificates, "server", ca)
    _issue(certificates, "client", ca)
    config = tmp_path / "tls.conf"
    config.write_text(
        "tls {\n"
        f'  cert_file: "{certificates / "server.pem"}"\n'
        f'  key_file: "{certificates / "server.key"}"\n'
        f'  ca_file: "{certificates / "ca.pem"}"\n'
        "  verify: true\n"
        # As the services ask (a TLS handshake first); the wait lets the clear-text readiness
        # probe of EmbeddedNats have its greeting.
        '  handshake_first: "300ms"\n'
        "}\n"
    )
    server = EmbeddedNats(tmp_path / "nats", free_port(), keep_store=False, config=config)
    server.start()
    try:
        yield TlsServer(server, certificates)
    finally:
        server.stop()


async def test_a_service_connects_with_the_ca_and_its_client_certificate(
    tls_server: TlsServer,
) -> None:
    certificates = tls_server.certificates
    settings = tls_server.settings(
        NATS_TLS_CA=str(certificates / "ca.pem"),
        NATS_TLS_CERT=str(certificates / "client.pem"),
        NATS_TLS_KEY=str(certificates / "client.key"),
    )
    nc = await tnats.connect(settings, "tls-test")
    try:
        subscription = await nc.subscribe("tls.probe")
        await nc.publish("tls.probe", b"over tls")
        message = await subscription.next_msg(timeout=5)
        # The server takes TLS connections only: this one is encrypted, its peer verified.
        assert message.data == b"over tls"
    finally:
        await nc.close()


async def attempt(settings: CampaignSettings) -> None:
    nc = await nats.connect(
        settings.nats_url,
        **tnats.credentials(settings),
        **tnats.tls_options(settings),
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=3,
    )
    await nc.close()


async def test_a_server_whose_certificate_the_client_cannot_verify_is_refused(
    tls_server: TlsServer,
) -> None:
    # The system's CAs do not know this server's: no connection, not a silent downgrade.
    certificates = tls_server.certificates
    settings = tls_server.settings(
        NATS_TLS_CERT=str(certificates / "client.pem"),
        NATS_TLS_KEY=str(certificates / "client.key"),
    )
    with pytest.raises(Exception, match=r"CERTIFICATE_VERIFY_FAILED"):
        await attempt(settings)


async def test_a_client_without_a_certificate_is_refused(tls_server: TlsServer) -> None:
    settings = tls_server.settings(NATS_TLS_CA=str(tls_server.certificates / "ca.pem"))
    with pytest.raises((nats.errors.Error, OSError)):
        await attempt(settings)


async def test_a_server_that_does_not_speak_tls_gets_nothing_in_clear(tmp_path: Path) -> None:
    # Whoever answers in the server's place without TLS: the client never sends its
    # password (or anything) in clear, it does not connect.
    plain = EmbeddedNats(tmp_path / "nats", free_port(), keep_store=False)
    plain.start()
    try:
        settings = load_settings(
            CampaignSettings,
            {
                "DATABASE_URL": "postgresql://tls@localhost/unused",
                "TELECAST_ENV": "development",
                "NATS_URL": f"tls://127.0.0.1:{plain.port}",
                "NATS_CAMPAIGN_PASSWORD": "p" * 24,
            },
        )
        with pytest.raises((nats.errors.Error, OSError)):
            await attempt(settings)
    finally:
        plain.stop()
