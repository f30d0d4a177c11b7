"""Certificates and kubeconfigs for a throwaway control plane, made with the ``openssl`` CLI.

EC P-256 keys throughout: Kubernetes accepts them for serving, client and service-account
signing, and they are generated in milliseconds where RSA takes a noticeable fraction of a second.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from quickmeet_conformance.errors import ToolError

OPENSSL_TIMEOUT_S = 30


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise ToolError("openssl not found on PATH", fix="install it, e.g. apt-get install openssl")
    try:
        result = subprocess.run(  # noqa: S603
            [binary, *args], capture_output=True, text=True, timeout=OPENSSL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"openssl {args[0]} hung for {OPENSSL_TIMEOUT_S}s") from exc
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise ToolError(f"openssl {args[0]} failed: {message[-1] if message else result.returncode}")


def new_private_key(path: Path) -> Path:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    path.chmod(0o600)
    return path


def public_key_of(private_key: Path, path: Path) -> Path:
    _openssl("pkey", "-in", str(private_key), "-pubout", "-out", str(path))
    return path


def _subject(common_name: str, organizations: Sequence[str]) -> str:
    return "".join(f"/O={org}" for org in organizations) + f"/CN={common_name}"


def _sign(
    directory: Path,
    name: str,
    *,
    subject: str,
    extensions: list[str],
    days: int,
    issuer: KeyPair | None,
) -> KeyPair:
    key = new_private_key(directory / f"{name}.key")
    csr = directory / f"{name}.csr"
    ext = directory / f"{name}.ext"
    cert = directory / f"{name}.crt"
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    ext.write_text("\n".join(extensions) + "\n")
    signer = ["-signkey", str(key)] if issuer is None else ["-CA", str(issuer.cert), "-CAkey", str(issuer.key)]
    _openssl(
        "x509", "-req", "-in", str(csr), *signer,
        "-set_serial", str(secrets.randbits(63)),
        "-days", str(days), "-sha256", "-extfile", str(ext), "-out", str(cert),
    )  # fmt: skip
    csr.unlink()
    ext.unlink()
    return KeyPair(cert=cert, key=key)


def new_certificate_authority(directory: Path, common_name: str, days: int = 3650) -> KeyPair:
    """A self-signed CA that signs every serving and client certificate of one cluster."""
    directory.mkdir(parents=True, exist_ok=True)
    return _sign(
        directory,
        "ca",
        subject=_subject(common_name, ()),
        extensions=[
            "basicConstraints=critical,CA:TRUE",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            "subjectKeyIdentifier=hash",
        ],
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
    usages = [u for u, on in (("serverAuth", server), ("clientAuth", client)) if on]
    extensions = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={','.join(usages)}",
        "authorityKeyIdentifier=keyid",
    ]
    alt_names = [f"DNS:{d}" for d in dns_names] + [f"IP:{ip}" for ip in ip_addresses]
    if alt_names:
        extensions.append("subjectAltName=" + ",".join(alt_names))
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
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path
