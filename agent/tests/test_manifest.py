from __future__ import annotations

import copy

import pytest

from vixpro_agent.manifest import ManifestError, ManifestStore, verify_manifest
from vixpro_agent.protocol import signing
from vixpro_agent.tools.registry import builtin_specs


@pytest.fixture
def store(platform_key, manifest_doc):
    key = platform_key.public_key()
    return ManifestStore(key, verify_manifest(manifest_doc(5), key))


def refused(store, document) -> ManifestError:
    before = store.current
    with pytest.raises(ManifestError) as info:
        store.offer(document)
    assert store.current is before  # the old manifest is kept
    assert store.version == 5
    return info.value


def test_newer_signed_manifest_is_adopted(store, manifest_doc):
    manifest = store.offer(manifest_doc(6))
    assert manifest is not None
    assert store.version == 6
    assert "disk_usage" in store.current.tools


def test_forged_signature_is_refused(store, manifest_doc, other_key):
    error = refused(store, manifest_doc(6, key=other_key))
    assert error.version == 6
    assert "signature" in error.reason


def test_body_changed_after_signing_is_refused(store, manifest_doc):
    document = manifest_doc(6)
    document["body"]["tools"][0]["risk"] = "mutate"
    assert "signature" in refused(store, document).reason


def test_older_version_replay_is_refused(store, manifest_doc):
    error = refused(store, manifest_doc(4))
    assert error.reason == "version 4 is not newer than the current version 5"


def test_same_version_with_other_body_is_refused(store, manifest_doc):
    assert "not newer" in refused(store, manifest_doc(5, tools=builtin_specs()[:3])).reason


def test_same_manifest_again_is_ignored(store, manifest_doc):
    current = store.current
    assert store.offer(manifest_doc(5)) is None
    assert store.current is current


def test_unsigned_manifest_is_refused(store, manifest_doc):
    body = manifest_doc(6)["body"]
    assert "signature" in refused(store, body).reason
    assert "signature" in refused(store, {"body": body, "signature": ""}).reason
    assert "signature" in refused(store, {"body": body, "signature": "bm90IGEgc2ln"}).reason


def spec_with(**changes):
    spec = copy.deepcopy(builtin_specs()[0])
    spec.update(changes)
    return spec


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (
            spec_with(
                parameters={
                    "type": "object",
                    "properties": {"p": {"type": "string", "format": "uri"}},
                }
            ),
            "unsupported schema keyword(s): format",
        ),
        (spec_with(parameters={"type": "object", "patternProperties": {}}), "patternProperties"),
        (spec_with(parameters={"type": "string"}), "must be an object schema"),
        (spec_with(timeout_s=61), "timeout_s: must be an integer from 1 to 60"),
        (spec_with(timeout_s=0), "timeout_s"),
        (spec_with(timeout_s=True), "timeout_s"),
        (spec_with(risk="admin"), "risk: must be read or mutate"),
        (spec_with(name="Bad-Name"), "snake_case"),
        (spec_with(version=2), "version: must be a non-empty string"),
        (spec_with(shell="rm -rf /"), "unknown field(s) shell"),
    ],
)
def test_malformed_tool_spec_is_refused(store, manifest_doc, spec, reason):
    error = refused(store, manifest_doc(6, tools=[spec]))
    assert reason in error.reason
    assert error.version == 6


def test_duplicate_tool_names_are_refused(store, manifest_doc):
    spec = builtin_specs()[0]
    assert "appears twice" in refused(store, manifest_doc(6, tools=[spec, spec])).reason


def test_manifest_body_must_have_a_positive_version(platform_key):
    document = signing.sign_document(platform_key, {"version": 0, "issued_at": "x", "tools": []})
    with pytest.raises(ManifestError, match="version"):
        verify_manifest(document, platform_key.public_key())


def test_first_manifest_is_adopted_by_an_empty_store(platform_key, manifest_doc):
    store = ManifestStore(platform_key.public_key())
    assert store.version == 0
    assert store.offer(manifest_doc(1)) is not None
    assert store.version == 1
