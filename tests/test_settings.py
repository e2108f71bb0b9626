from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from vixpro.settings import Settings, SettingsError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("VIXPRO_"):
            monkeypatch.delenv(name)


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIXPRO_PORT", "9001")
    assert Settings().port == 9001


def test_secret_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(b"a" * 32).decode()
    (tmp_path / "key").write_text(key + "\n")
    monkeypatch.setenv("VIXPRO_MASTER_KEY_FILE", str(tmp_path / "key"))
    assert Settings().master_key_bytes() == b"a" * 32


def test_unreadable_secret_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIXPRO_MASTER_KEY_FILE", "/nonexistent/key")
    with pytest.raises(SettingsError, match="VIXPRO_MASTER_KEY_FILE"):
        Settings()


@pytest.mark.parametrize("value", ["", "changeme", "secret"])
def test_placeholder_secret_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("VIXPRO_MASTER_KEY", value)
    with pytest.raises(ValueError, match="VIXPRO_MASTER_KEY is empty or a placeholder") as caught:
        Settings()
    assert value == "" or value not in str(caught.value).replace("placeholder", "")


def test_placeholder_database_password_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIXPRO_DATABASE_URL", "postgresql://vixpro:changeme@db/vixpro")
    with pytest.raises(ValueError, match="VIXPRO_DATABASE_URL has a placeholder password"):
        Settings()


def test_development_mode_accepts_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIXPRO_ENV", "development")
    monkeypatch.setenv("VIXPRO_DATABASE_URL", "postgresql://vixpro:changeme@db/vixpro")
    assert Settings().development


def test_master_key_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = settings.master_key_bytes()
    path = tmp_path / "data" / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 32
    assert Settings(data_dir=tmp_path / "data").master_key_bytes() == first


def test_wrong_length_master_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIXPRO_MASTER_KEY", base64.urlsafe_b64encode(b"short").decode())
    with pytest.raises(SettingsError, match="32 bytes"):
        Settings().master_key_bytes()


def test_secrets_are_not_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIXPRO_DATABASE_URL", "postgresql://vixpro:s3cr3t-value@db/vixpro")
    assert "s3cr3t-value" not in repr(Settings())


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIXPRO_PORT", "eighty")
    with pytest.raises(SettingsError, match="VIXPRO_PORT"):
        Settings()
