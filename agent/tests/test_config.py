from __future__ import annotations

import pytest

from vixpro_agent.config import ConfigError, parse_config_body, verify_config_document


def test_a_signed_config_verifies_into_its_fields(config_doc, platform_key, roots):
    config = verify_config_document(config_doc(version=4), platform_key.public_key())
    assert config.version == 4
    assert config.allowed_log_roots == (str(roots.logs),)
    assert config.allowed_cleanup_roots == (str(roots.cleanup),)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": 0}, "config.version"),
        ({"version": "1"}, "config.version"),
        ({"server_id": ""}, "config.server_id"),
        ({"allowed_log_roots": ["relative/path"]}, "config.allowed_log_roots"),
        ({"allowed_cleanup_roots": "/tmp"}, "config.allowed_cleanup_roots"),
    ],
)
def test_malformed_config_fields_are_named(config_doc, change, field):
    body = {**config_doc()["body"], **change}
    with pytest.raises(ConfigError, match=field):
        parse_config_body(body)


def test_a_config_signed_by_another_key_is_refused(config_doc, other_key, platform_key):
    with pytest.raises(ConfigError, match="signature"):
        verify_config_document(config_doc(key=other_key), platform_key.public_key())
