"""hygiene.plain-env-credentials judges the value too: a credential-named switch is not a credential."""

from __future__ import annotations

import pytest

from quickmeet_conformance.rules.hygiene import _plain_credential
from quickmeet_conformance.topology import EnvVar


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALLOW_EMPTY_PASSWORD", "yes"),  # the MongoDB container of the reference chart
        ("MONGODB_DISABLE_PASSWORD", "false"),
        ("OVERWRITE_SETTING_Accounts_AllowPasswordChange", "true"),
        ("MONGODB_PASSWORD", ""),
    ],
)
def test_a_switch_is_not_a_credential(name: str, value: str) -> None:
    assert _plain_credential(EnvVar(name, value)) == "", f"{name}={value} is a switch, not a credential"


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("MONGODB_PASSWORD", "s3cr3t-value", "a credential (MONGODB_PASSWORD)"),
        ("ROCKETCHAT_LICENSE", "LICENSE-BLOB", "a credential (ROCKETCHAT_LICENSE)"),
        ("MONGO_OPLOG_URL", "mongodb://user:pw@db:27017/local", "a URI with a password"),
    ],
)
def test_a_credential_is_reported(name: str, value: str, why: str) -> None:
    assert _plain_credential(EnvVar(name, value)) == why
    assert _plain_credential(EnvVar(name, secret_name="s", secret_key="k")) == "", (
        "valueFrom a Secret is fine"
    )


def test_a_credential_named_switch_is_not_masked_everywhere() -> None:
    """redact.py learns literal credential env values, but not a switch: masking 'false' would hide every
    false in every report and protect nothing."""
    from quickmeet_conformance.redact import Redactor

    redactor = Redactor()
    redactor.add_from_manifest_env(
        {
            "env": [
                {"name": "MONGODB_DISABLE_PASSWORD", "value": "false"},
                {"name": "ADMIN_PASSWORD", "value": "planted-admin-pw"},
            ]
        }
    )
    assert redactor.text("enabled: false, password planted-admin-pw") == "enabled: false, password ***"
