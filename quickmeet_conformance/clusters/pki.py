"""Certificates and kubeconfigs for a throwaway control plane, made in-process with ``cryptography``.

EC P-256 keys throughout: Kubernetes accepts them for serving, client and service-account
signing, and they are generated in milliseconds where RSA takes a noticeable fraction of a second.
Keys are written PKCS#8 PEM with mode 0600, certificates PEM.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(
        path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
    )  # never readable by others, not even briefly
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def _new_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(path, pem)
    return key


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return key


def new_private_key(path: Path) -> Path:
    _new_key(path)
    return path


def public_key_of(private_key: Path, path: Path) -> Path:
    public = _load_key(private_key).public_key()
    path.write_bytes(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def _subject(common_name: str, organizations: Sequence[str]) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
        + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _sign(
    directory: Path,
    name: str,
    *,
    subject: x509.Name,
    extensions: list[tuple[x509.ExtensionType, bool]],
    days: int,
    issuer: KeyPair | None,
) -> KeyPair:
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key = _new_key(key_path)
    if issuer is None:
        signer, issuer_name = key, subject
        issuer_public = key.public_key()
    else:
        signer = _load_key(issuer.key)
        issuer_cert = x509.load_pem_x509_certificate(issuer.cert.read_bytes())
        issuer_name, issuer_public = issuer_cert.subject, signer.public_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(secrets.randbits(63))
        .not_valid_before(now - datetime.timedelta(minutes=5))  # clock skew between us and the API server
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    certificate = builder.sign(signer, hashes.SHA256())
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return KeyPair(cert=cert_path, key=key_path)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def new_certificate_authority(directory: Path, common_name: str, days: int = 3650) -> KeyPair:
    """A self-signed CA that signs every serving and client certificate of one cluster."""
    directory.mkdir(parents=True, exist_ok=True)
    return _sign(
        directory,
        "ca",
        subject=_subject(common_name, ()),
        extensions=[(x509.BasicConstraints(ca=True, path_length=None), True), (_key_usage(ca=True), True)],
        days=days,
        issuer=None,
    )


def issue_certificate(
    ca: KeyPair,
    directory: Path,
    name: str,
    *,
    common_name: str,
    organizations: Sequence[str] = (),
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    server: bool = False,
    client: bool = False,
    days: int = 365,
) -> KeyPair:
    """A leaf certificate signed by ``ca``; Kubernetes reads user = CN and groups = O from client certs."""
    if not (server or client):
        raise ValueError("a certificate must be for server or client use (or both)")
    usages = [
        u
        for u, on in ((ExtendedKeyUsageOID.SERVER_AUTH, server), (ExtendedKeyUsageOID.CLIENT_AUTH, client))
        if on
    ]
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_key_usage(ca=False), True),
        (x509.ExtendedKeyUsage(usages), False),
    ]
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if alt_names:
        extensions.append((x509.SubjectAlternativeName(alt_names), False))
    directory.mkdir(parents=True, exist_ok=True)
    return _sign(
        directory,
        name,
        subject=_subject(common_name, organizations),
        extensions=extensions,
        days=days,
        issuer=ca,
    )


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write_kubeconfig(
    path: Path,
    *,
    cluster: str,
    server: str,
    ca_cert: Path,
    user: str,
    client: KeyPair | None = None,
    token: str | None = None,
) -> Path:
    """A self-contained kubeconfig (certificates embedded) whose current context is ``cluster``."""
    if (client is None) == (token is None):
        raise ValueError("give exactly one of client (certificate) or token")
    credentials: dict[str, str] = {}
    if client is not None:
        credentials = {"client-certificate-data": _b64(client.cert), "client-key-data": _b64(client.key)}
    else:
        credentials = {"token": str(token)}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)}}
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path
