from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fakes.identity import ORG_ID, SERVER_ID
from vixpro_agent.config import parse_config_body
from vixpro_agent.manifest import ManifestStore, verify_manifest
from vixpro_agent.protocol import signing
from vixpro_agent.runner import Runner
from vixpro_agent.state import Enrollment, StateDir
from vixpro_agent.tools.registry import builtin_specs, implementations


@pytest.fixture(scope="session")
def platform_key() -> signing.PrivateKey:
    return signing.generate_private_key()


@pytest.fixture(scope="session")
def agent_key() -> signing.PrivateKey:
    return signing.generate_private_key()


@pytest.fixture(scope="session")
def other_key() -> signing.PrivateKey:
    return signing.generate_private_key()


@pytest.fixture
def manifest_doc(platform_key):
    def make(
        version: int = 1, tools: list[dict[str, Any]] | None = None, key=None
    ) -> dict[str, Any]:
        body = {
            "version": version,
            "issued_at": "2025-01-01T00:00:00Z",
            "tools": builtin_specs() if tools is None else tools,
        }
        return signing.sign_document(key or platform_key, body)

    return make


@pytest.fixture
def config_doc(platform_key, tmp_path):
    def make(version: int = 1, key=None, **changes: Any) -> dict[str, Any]:
        body = {
            "version": version,
            "server_id": SERVER_ID,
            "org_id": ORG_ID,
            "platform_url": "http://127.0.0.1",
            "allowed_log_roots": [str(tmp_path / "logs")],
            "allowed_cleanup_roots": [str(tmp_path / "cleanup")],
            "issued_at": "2025-01-01T00:00:00Z",
        }
        body.update(changes)
        return signing.sign_document(key or platform_key, body)

    return make


@pytest.fixture
def roots(tmp_path) -> SimpleNamespace:
    logs = tmp_path / "logs"
    cleanup = tmp_path / "cleanup"
    logs.mkdir()
    cleanup.mkdir()
    return SimpleNamespace(logs=logs, cleanup=cleanup)


@pytest.fixture
def config(config_doc, roots):
    return parse_config_body(config_doc()["body"])


@pytest.fixture
def state(tmp_path, platform_key, agent_key, config_doc, manifest_doc, roots) -> StateDir:
    """An enrolled state directory (as ``vixpro-agent enroll`` leaves it)."""
    state = StateDir(tmp_path / "state")
    state.create()
    state.save_private_key(agent_key)
    state.save_platform_key(signing.public_pem(platform_key))
    state.save_config_document(config_doc())
    state.save_manifest_document(manifest_doc())
    state.save_enrollment(
        Enrollment(
            server_id=SERVER_ID,
            platform_url="http://127.0.0.1:9",
            enrolled_at="2025-01-01T00:00:00Z",
            ca_file=None,
        )
    )
    return state


@dataclass
class Guard:
    config: Any = None
    tampered: bool = False


@pytest.fixture
def call_tool(platform_key, manifest_doc, config):
    """Run one call through a Runner whose manifest holds the built-in tools (plus extras)."""

    async def call(
        tool: str,
        params: dict[str, Any] | None = None,
        *,
        extra: list[Any] = (),
        tampered: bool = False,
        deadline_ms: int = 60_000,
        output_limit: int = 64 * 1024,
        with_config: bool = True,
    ) -> dict[str, Any]:
        tools = dict(implementations())
        specs = builtin_specs()
        for t in extra:
            tools[t.name] = t
            specs.append(t.spec())
        store = ManifestStore(
            platform_key.public_key(),
            verify_manifest(manifest_doc(1, specs), platform_key.public_key()),
        )
        guard = Guard(config=config if with_config else None, tampered=tampered)
        runner = Runner(store, guard, tools, output_limit=output_limit)
        return await runner.run(
            {
                "type": "tool_call",
                "id": "call-1",
                "tool": tool,
                "params": params or {},
                "deadline_ms": deadline_ms,
            }
        )

    return call


# --- TLS material: a private CA and a certificate for 127.0.0.1 -------------------------


@dataclass
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TlsFiles:
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("VixPro Test CA"))
        .issuer_name(_name("VixPro Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=10))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files
