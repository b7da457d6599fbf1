"""Build paradex-py's `Paradex` for an L1-key account, working around a key-derivation bug of paradex-py 0.8.2.

paradex-py derives the account's L2 (Stark) key by signing a typed message with the L1 key
(`paradex_py.account.utils.resolve_l2_keypair` -> `derive_stark_key`), but first turns the L1 key into an int
(`int_from_hex`) and hands that int to `eth_account.Account.sign_message`, which rebuilds the key bytes from the
int and so loses leading zero bytes: a key whose first byte is 0x00 (1 key in 256) fails with "The private key
must be exactly 32 bytes long". Found by a test run whose random key hit it.

For such a key, `paradex_for_l1` builds the SDK without keys (it still fetches the system config) and initialises
the account with the L2 key derived exactly as the SDK derives it (same stark-key message for the config's L1
chain id, same signature-to-key grinding) from the 32 key BYTES; the SDK itself then uses only the L1 address and
the L2 key (`Paradex.init_account`). Every other key takes the SDK's own path unchanged.
"""

from __future__ import annotations

from typing import Any, cast

from paradex_py import Paradex
from paradex_py.account.utils import _get_private_key_from_eth_signature, _sign_stark_key_message
from paradex_py.message.stark_key import build_stark_key_message


def has_leading_zero_byte(l1_private_key: str) -> bool:
    """True for a 32-byte hex key (optional 0x) whose first byte is 0x00: the keys paradex-py 0.8.2 mishandles."""
    raw = l1_private_key.strip().lower().removeprefix("0x")
    return len(raw) == 64 and raw.startswith("00")


def derive_l2_private_key(l1_private_key: str, l1_chain_id: int) -> int:
    """The account's L2 private key from its L1 key, as paradex-py derives it, but from the key's 32 bytes.

    Raises:
        ValueError: not 32 bytes of hex.
    """
    raw = bytes.fromhex(l1_private_key.strip().lower().removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError("l1_private_key must be 32 bytes of hex")
    # the SDK annotates the key as an int, but signs with eth_account, which takes the key's bytes as they are
    signature = _sign_stark_key_message(build_stark_key_message(l1_chain_id), cast(Any, raw))
    return _get_private_key_from_eth_signature(signature)


def paradex_for_l1(*, l1_address: str, l1_private_key: str, **kwargs: Any) -> Paradex:
    """`Paradex(l1_address=..., l1_private_key=..., **kwargs)`, also for keys with a leading zero byte (see the
    module docstring). Raises whatever the SDK raises (authentication, onboarding, transport)."""
    if not has_leading_zero_byte(l1_private_key):
        return Paradex(l1_address=l1_address, l1_private_key=l1_private_key, **kwargs)
    sdk = Paradex(**kwargs)
    l2 = derive_l2_private_key(l1_private_key, int(sdk.config.l1_chain_id))
    sdk.init_account(l1_address=l1_address, l2_private_key=hex(l2))
    return sdk
