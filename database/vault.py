"""Credential vault: authenticated encryption of account secrets with a master key kept outside the database.

Cryptography: AES-256-GCM from the `cryptography` package (AEAD; a fresh 96-bit random nonce per encryption).
Ciphertext layout: b"pp1" | key_id (8 bytes) | nonce (12 bytes) | AES-GCM(ciphertext || 16-byte tag). The
associated data binds a ciphertext to its place (`account name | venue | purpose`): a ciphertext copied onto
another account or venue fails authentication instead of decrypting.

Master key: 32 random bytes, written base64url. From `PERPARB_MASTER_KEY` when set, else the key file
`PERPARB_MASTER_KEY_FILE` (default `$PERPARB_DATA_DIR/master.key`), created with mode 0600; a key file readable
by group or others is refused. The key id is the first 8 bytes of SHA-256("perparb-vault-key-id" || key) in hex:
it names the key without revealing it, and a wrong key is detected by its id before any decryption.

Rotation (`rotate_key`): the new key is written first to `master.key.next` (0600); every secret is re-encrypted under
it in ONE database transaction; after the commit the files are swapped (`master.key` -> `master.key.retired-<old id>`,
`master.key.next` -> `master.key`). A crash between commit and swap is recovered on the next start: the keyring holds
both the key file and a pending `master.key.next`. The retired key stays beside it so database backups taken before
the rotation can still be read; delete it when those backups are gone (docs/accounts.md).

Never logged, printed or put in an exception: a key or a plaintext. `init_vault` prints the key only when asked
with an explicit flag.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from perparb_core.errors import VaultError

MAGIC = b"pp1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_BYTES = 8


class KeyMismatchError(VaultError):
    """A ciphertext was made under a key the vault does not hold."""

    def __init__(self, message: str, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


def key_id_of(key: bytes) -> str:
    """Public identifier of a master key (16 hex characters)."""
    return hashlib.sha256(b"perparb-vault-key-id" + key).digest()[:KEY_ID_BYTES].hex()


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def decode_key(text: str, *, source: str) -> bytes:
    """Parse a base64url master key. Raises VaultError naming the source (never the value)."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (ValueError, TypeError):
        raise VaultError(f"{source}: master key is not base64url") from None
    if len(key) != KEY_BYTES:
        raise VaultError(f"{source}: master key must be {KEY_BYTES} bytes, got {len(key)}")
    return key


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def write_key_file(path: Path, key: bytes) -> None:
    """Write `key` to `path` with mode 0600 (created exclusively: never overwrites). Raises VaultError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise VaultError(f"key file {path} already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(encode_key(key) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600)


def read_key_file(path: Path) -> bytes:
    """Read a key file, refusing one that group or others can read or write. Raises VaultError."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise VaultError(
            f"no master key: {path} does not exist and PERPARB_MASTER_KEY is not set; run `perparb accounts "
            "init-vault` first"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VaultError(
            f"key file {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}`"
        )
    return decode_key(path.read_text(), source=str(path))


@dataclass
class Vault:
    """A keyring (key id -> key) and the id of the key that encrypts new secrets.

    Build it with `Vault.load(...)`; `Vault(...)` directly is for tests.
    """

    current_id: str
    keys: dict[str, bytes] = field(repr=False)
    key_file: Path | None = None
    from_env: bool = False

    def __repr__(self) -> str:
        return f"Vault(current_id={self.current_id!r}, key_ids={sorted(self.keys)!r}, key_file={self.key_file!r})"

    @classmethod
    def from_key(cls, key: bytes) -> Vault:
        kid = key_id_of(key)
        return cls(current_id=kid, keys={kid: key})

    @classmethod
    def load(cls, *, env_key: str | None, key_file: Path) -> Vault:
        """The vault of this process: `env_key` (PERPARB_MASTER_KEY) wins over the key file; a pending
        `<key_file>.next` from an interrupted rotation joins the keyring.

        Raises:
            VaultError: no key, an unreadable or world-accessible key file, a malformed key.
        """
        if env_key:
            key = decode_key(env_key, source="PERPARB_MASTER_KEY")
            vault = cls.from_key(key)
            vault.from_env = True
            vault.key_file = key_file
        else:
            vault = cls.from_key(read_key_file(key_file))
            vault.key_file = key_file
        pending = next_key_path(key_file)
        if pending.exists():
            extra = read_key_file(pending)
            vault.keys[key_id_of(extra)] = extra
        return vault

    def encrypt(self, plaintext: bytes, *, aad: str) -> bytes:
        """Encrypt under the current key, bound to `aad` (e.g. "alice|lighter|credentials")."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(nonce, plaintext, aad.encode())
        return MAGIC + bytes.fromhex(self.current_id) + nonce + sealed

    @staticmethod
    def key_id_of_ciphertext(blob: bytes) -> str:
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES + 16:
            raise VaultError("not a perparb vault ciphertext")
        return blob[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES].hex()

    def decrypt(self, blob: bytes, *, aad: str, what: str) -> bytes:
        """Decrypt `blob` made for `aad`. `what` names the secret in errors ("credentials of account 'x' for
        lighter").

        Raises:
            KeyMismatchError: the blob's key id is not in the keyring.
            VaultError: the blob is malformed or fails authentication (tampered, or moved to another row).
        """
        kid = self.key_id_of_ciphertext(blob)
        key = self.keys.get(kid)
        if key is None:
            raise KeyMismatchError(f"cannot decrypt {what}: the master key does not match key id {kid}", kid)
        start = len(MAGIC) + KEY_ID_BYTES
        nonce, sealed = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
        try:
            return AESGCM(key).decrypt(nonce, sealed, aad.encode())
        except InvalidTag:
            raise VaultError(
                f"cannot decrypt {what}: authentication failed (data altered or moved)"
            ) from None


def default_key_file(data_dir: Path) -> Path:
    return data_dir / "master.key"


def next_key_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".next")


def retired_key_path(key_file: Path, key_id: str) -> Path:
    return key_file.with_name(f"{key_file.name}.retired-{key_id}")


def init_vault(key_file: Path) -> str:
    """Create a new master key file (0600). Returns the key id. Raises VaultError if it already exists."""
    key = new_key()
    write_key_file(key_file, key)
    return key_id_of(key)


def finish_rotation(key_file: Path, old_id: str) -> None:
    """After the re-encryption committed: retire the old key file and promote `<key_file>.next`."""
    pending = next_key_path(key_file)
    if key_file.exists():
        os.replace(key_file, retired_key_path(key_file, old_id))
    os.replace(pending, key_file)
