from __future__ import annotations

import json
import stat

import pytest

from fakes.enrollment import EnrollmentServer, accepting
from fakes.identity import SERVER_ID
from vixpro_agent.enrollment import EnrollError, enroll
from vixpro_agent.protocol import signing
from vixpro_agent.state import StateDir


@pytest.fixture
def fresh_state(tmp_path):
    return StateDir(tmp_path / "new-state")


def test_enrolment_stores_key_documents_and_pinned_platform_key(
    fresh_state, platform_key, config_doc, manifest_doc
):
    answer = accepting(platform_key, SERVER_ID, config_doc(), manifest_doc(4))
    with EnrollmentServer(answer) as server:
        result = enroll(server.url, "one-time-token", fresh_state)
        request = server.requests[0]
    assert request["path"] == "/api/v1/hostagent/enroll"
    assert request["headers"]["Content-Type"] == "application/json"
    sent = request["json"]
    assert set(sent) == {"token", "public_key", "facts"}
    assert sent["facts"]["agent_version"]

    assert result.enrollment.server_id == SERVER_ID
    assert result.manifest.version == 4
    key = fresh_state.load_private_key()
    assert key.key_size == 3072
    assert signing.public_pem(key) == sent["public_key"]
    assert stat.S_IMODE(fresh_state.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(fresh_state.path.stat().st_mode) == 0o700
    assert signing.public_pem(fresh_state.load_platform_key()) == signing.public_pem(platform_key)
    assert json.loads(fresh_state.config_path.read_text()) == config_doc()
    assert json.loads(fresh_state.manifest_path.read_text())["body"]["version"] == 4
    assert fresh_state.load_enrollment().platform_url == server.url


def test_refused_token_shows_the_problem_detail(
    fresh_state, platform_key, config_doc, manifest_doc, agent_key
):
    with (
        EnrollmentServer(
            accepting(platform_key, SERVER_ID, config_doc(), manifest_doc())
        ) as server,
        pytest.raises(EnrollError) as info,
    ):
        enroll(server.url, "wrong", fresh_state, key=agent_key)
    assert (
        str(info.value) == "enrolment refused (HTTP 401): the enrolment token is unknown or expired"
    )
    assert not fresh_state.path.exists()  # nothing stored


def test_documents_not_signed_by_the_returned_key_are_refused(
    fresh_state, platform_key, other_key, config_doc, manifest_doc, agent_key
):
    for config, manifest, what in (
        (config_doc(key=other_key), manifest_doc(), "config"),
        (config_doc(), manifest_doc(key=other_key), "manifest"),
        (config_doc(server_id="another-server"), manifest_doc(), "another server"),
    ):
        answer = accepting(platform_key, SERVER_ID, config, manifest)
        with EnrollmentServer(answer) as server, pytest.raises(EnrollError, match=what):
            enroll(server.url, "one-time-token", fresh_state, key=agent_key)
    assert not fresh_state.key_path.exists()


def test_a_weak_platform_key_is_refused(fresh_state, config_doc, manifest_doc, agent_key):
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    answer = accepting(
        weak, SERVER_ID, signing.sign_document(weak, config_doc()["body"]), manifest_doc()
    )
    with EnrollmentServer(answer) as server, pytest.raises(EnrollError, match="3072"):
        enroll(server.url, "one-time-token", fresh_state, key=agent_key)


def test_enrolling_twice_needs_force(state, platform_key, config_doc, manifest_doc, other_key):
    old_key = signing.public_pem(state.load_private_key())
    with EnrollmentServer(
        accepting(platform_key, SERVER_ID, config_doc(), manifest_doc())
    ) as server:
        with pytest.raises(EnrollError, match="--force"):
            enroll(server.url, "one-time-token", state, key=other_key)
        enroll(server.url, "one-time-token", state, force=True, key=other_key)
    assert signing.public_pem(state.load_private_key()) != old_key


def test_enrolment_over_https_needs_the_ca_file_for_a_private_ca(
    fresh_state, platform_key, config_doc, manifest_doc, tls_files, agent_key
):
    answer = accepting(platform_key, SERVER_ID, config_doc(), manifest_doc())
    with EnrollmentServer(answer, ssl_context=tls_files.server_context()) as server:
        with pytest.raises(EnrollError, match="--ca-file"):
            enroll(server.url, "one-time-token", fresh_state, key=agent_key)
        result = enroll(
            server.url, "one-time-token", fresh_state, ca_file=str(tls_files.ca_file), key=agent_key
        )
    assert result.enrollment.ca_file == str(fresh_state.ca_path)
    assert fresh_state.ca_path.read_bytes() == tls_files.ca_file.read_bytes()
    assert fresh_state.load_enrollment().ca_file == str(fresh_state.ca_path)


def test_unreachable_server_and_bad_urls_give_clear_errors(fresh_state, agent_key):
    with pytest.raises(
        EnrollError, match=r"cannot reach http://127\.0\.0\.1:1/api/v1/hostagent/enroll"
    ):
        enroll("http://127.0.0.1:1", "t", fresh_state, key=agent_key)
    with pytest.raises(EnrollError, match="http:// or https://"):
        enroll("ftp://example.com", "t", fresh_state, key=agent_key)


def test_redirects_are_not_followed(fresh_state, agent_key):
    def redirect(request):
        return 307, {"Location": "https://elsewhere.example/api/v1/hostagent/enroll"}, b""

    with EnrollmentServer(redirect) as server, pytest.raises(EnrollError, match="redirect") as info:
        enroll(server.url, "one-time-token", fresh_state, key=agent_key)
    assert "elsewhere.example" in str(info.value)
    assert len(server.requests) == 1


def test_server_error_answer_is_reported(fresh_state, agent_key):
    def broken(request):
        return 500, {"Content-Type": "text/plain"}, b"oops"

    with EnrollmentServer(broken) as server, pytest.raises(EnrollError, match=r"HTTP 500"):
        enroll(server.url, "one-time-token", fresh_state, key=agent_key)
