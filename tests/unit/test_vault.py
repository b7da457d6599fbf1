"""The vault: AES-256-GCM round trip, key ids, binding to the row, key file permissions, no key in repr/errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from database.vault import (
    KeyMismatchError,
    Vault,
    VaultError,
    encode_key,
    init_vault,
    key_id_of,
    new_key,
    read_key_file,
)


def test_round_trip_and_key_id_in_ciphertext() -> None:
    vault = Vault.from_key(new_key())
    blob = vault.encrypt(b"top secret", aad="alice|lighter|credentials")
    assert b"top secret" not in blob
    assert Vault.key_id_of_ciphertext(blob) == vault.current_id
    assert vault.decrypt(blob, aad="alice|lighter|credentials", what="x") == b"top secret"
    # fresh nonce each time
    assert vault.encrypt(b"top secret", aad="a") != vault.encrypt(b"top secret", aad="a")


def test_ciphertext_is_bound_to_its_row() -> None:
    vault = Vault.from_key(new_key())
    blob = vault.encrypt(b"k", aad="alice|lighter|credentials")
    with pytest.raises(VaultError, match="authentication failed"):
        vault.decrypt(blob, aad="mallory|lighter|credentials", what="credentials of account 'mallory'")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(VaultError, match="authentication failed"):
        vault.decrypt(tampered, aad="alice|lighter|credentials", what="x")


def test_wrong_key_names_the_key_id() -> None:
    right, wrong = Vault.from_key(new_key()), Vault.from_key(new_key())
    blob = right.encrypt(b"k", aad="a")
    with pytest.raises(KeyMismatchError) as exc:
        wrong.decrypt(blob, aad="a", what="credentials of account 'x' for lighter")
    assert str(exc.value) == (
        f"cannot decrypt credentials of account 'x' for lighter: the master key does not match key id "
        f"{right.current_id}"
    )


def test_key_never_in_repr() -> None:
    key = new_key()
    vault = Vault.from_key(key)
    assert encode_key(key) not in repr(vault) and str(key) not in repr(vault)
    assert key_id_of(key) in repr(vault)


def test_key_file_created_0600_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "d" / "master.key"
    kid = init_vault(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_id_of(read_key_file(path)) == kid
    with pytest.raises(VaultError, match="already exists"):
        init_vault(path)
    assert key_id_of(read_key_file(path)) == kid


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_accessible_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    init_vault(path)
    os.chmod(path, mode)
    with pytest.raises(VaultError, match="chmod 600"):
        Vault.load(env_key=None, key_file=path)


def test_bad_env_key_is_named_not_echoed() -> None:
    with pytest.raises(VaultError) as exc:
        Vault.load(env_key="c2hvcnQ=", key_file=Path("/nonexistent"))
    assert "PERPARB_MASTER_KEY" in str(exc.value) and "c2hvcnQ" not in str(exc.value)


def test_missing_key_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="init-vault"):
        Vault.load(env_key=None, key_file=tmp_path / "none.key")
