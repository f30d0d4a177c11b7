"""Keep secrets out of every output: passwords, credentials in URIs, keys and tokens.

Every pattern that recognises a secret lives here (the redactor, the hygiene rules and the upgrade rules read
them from this module), so what counts as a credential is decided in one place.

Secrets are collected from the values (by key name and by value shape) and from rendered Secrets'
data; ``Redactor.text`` replaces each occurrence. URI credentials (``scheme://user:pass@``) are
masked wherever they appear, even when they were never collected.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MASK = "***"
_SECRET_KEY = re.compile(
    r"(pass(word)?s?|secret|token|credential|private|tls\.key|apikey|api_key|rootpassword)", re.I
)
URI_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s'\"]+):(?P<pw>[^@\s'\"]+)@"
)
_URI_CREDENTIALS = URI_CREDENTIALS
# a values path or Secret data key that names a URI (its credentials are inside it)
URI_KEY = re.compile(r"(?i)(uri|url)")
# a Secret data key that holds a password (upgrade rules: a generated password that changes on upgrade)
PASSWORD_DATA_KEY = re.compile(r"(?i)(pass|secret|token|key)")
# a values path that holds a credential the user set (upgrade rules: a password the user changed, not one moved)
CREDENTIAL_VALUES_PATH = re.compile(r"(?i)(pass|secret|token|credential|mongodburl)")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)
# keys that name a secret rather than hold one (secretName, existingSecret, existingMongodbSecret, key)
_NAMES_A_SECRET = re.compile(r"(name|^existing|^key$)", re.I)
# env var names that hold a credential when given a literal value (ROCKETCHAT_LICENSE, ADMIN_PASS, MAIL_URL...)
CREDENTIAL_ENV = re.compile(
    r"(PASS(WORD|WD)?(_|$)|SECRET|TOKEN|LICEN[CS]E|API_?KEY|CREDENTIAL|PRIVATE_?KEY)", re.I
)
# a credential-named variable holding one of these is a switch, not a secret (MongoDB's ALLOW_EMPTY_PASSWORD=yes)
SWITCH_VALUES = frozenset({"yes", "no", "true", "false", "on", "off", "0", "1", "y", "n"})
MIN_SECRET_LEN = 4  # shorter strings ("yes", "a") would mask ordinary words


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


@dataclass
class Redactor:
    secrets: set[str] = field(default_factory=set)
    # strings anyone can read in the chart's own values.yaml (a default password, the chart name):
    # masking them would hide resource names and protect nothing
    public: frozenset[str] = frozenset()

    def add(self, value: str) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LEN and value not in self.public:
            self.secrets.add(value)
            # the forms a message may quote it in: repr() and JSON escape quotes, backslashes and
            # newlines (jsonschema and helm messages do), base64 is how a Secret's data holds it
            self.secrets.update(
                {
                    repr(value)[1:-1],
                    json.dumps(value)[1:-1],
                    base64.b64encode(value.encode("utf-8")).decode("ascii"),
                }
            )
            match = _URI_CREDENTIALS.search(value)
            if match:
                self.add(match.group("pw"))

    def add_from_values(self, node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            self.add_env_entry(node)
            for k, v in node.items():
                self.add_from_values(v, str(k))
        elif isinstance(node, list):
            for v in node:
                self.add_from_values(v, key)
        elif isinstance(node, str):
            secret_key = _SECRET_KEY.search(key) and not _NAMES_A_SECRET.search(key)
            if secret_key or _URI_CREDENTIALS.search(node) or _PEM.search(node):
                self.add(node)

    def add_env_entry(self, entry: dict[str, Any]) -> None:
        """``{name: ROCKETCHAT_LICENSE, value: ...}`` (an env entry in values or a manifest): the value is a
        secret when the name says credential."""
        name, value = entry.get("name"), entry.get("value")
        if isinstance(name, str) and isinstance(value, str) and CREDENTIAL_ENV.search(name):
            if value.strip().lower() not in SWITCH_VALUES:  # masking "false" everywhere would protect nothing
                self.add(value)

    def add_from_manifest_env(self, body: Any) -> None:
        """Every literal env value of a rendered manifest whose name says credential, or that holds one."""
        if isinstance(body, dict):
            if isinstance(body.get("env"), list):
                for entry in body["env"]:
                    if isinstance(entry, dict):
                        self.add_env_entry(entry)
                        if isinstance(entry.get("value"), str) and _URI_CREDENTIALS.search(entry["value"]):
                            self.add(entry["value"])
            for value in body.values():
                self.add_from_manifest_env(value)
        elif isinstance(body, list):
            for value in body:
                self.add_from_manifest_env(value)

    def add_from_secret_manifest(self, body: dict[str, Any]) -> None:
        for value in (body.get("stringData") or {}).values():
            self.add(str(value))
        for value in (body.get("data") or {}).values():
            self.add(str(value))
            try:
                self.add(base64.b64decode(str(value), validate=True).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                pass

    def text(self, text: str) -> str:
        if not text:
            return text
        text = _PEM.sub(f"-----{MASK} PRIVATE KEY-----", text)
        text = _URI_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{MASK}@", text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __call__(self, text: str) -> str:
        return self.text(text)

    def merged(self, other: Redactor) -> Redactor:
        return Redactor(self.secrets | other.secrets, self.public & other.public)


def redactor_for(
    values: Any, secret_bodies: Iterable[dict[str, Any]] = (), public_values: Any = None
) -> Redactor:
    """A redactor for the user's ``values`` and rendered Secrets; ``public_values`` (the chart's
    defaults) are published with the chart and never count as secrets."""
    redactor = Redactor(
        public=frozenset(_strings(public_values)) if public_values is not None else frozenset()
    )
    redactor.add_from_values(values)
    for body in secret_bodies:
        redactor.add_from_secret_manifest(body)
    return redactor


def all_strings(node: Any) -> list[str]:
    return list(_strings(node))
