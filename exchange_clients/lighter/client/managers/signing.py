"""Lighter transactions signed BEFORE the send, with an explicitly managed nonce (issue #16).

lighter-sdk's `SignerClient.create_order` signs (Go, ~3.5 ms, synchronous) and sends in one call, on the event
loop. A two-leg entry wants the slow part done before either leg is sent, so this module splits it with the SDK's
own parts: `SignerClient.sign_create_order(..., nonce=n, api_key_index=k)` in a worker thread, later
`SignerClient.send_tx(tx_type, tx_info)`. The nonce comes from the SDK's nonce manager (`signer.nonce_manager`,
OPTIMISTIC: `nextNonce` fetched once per key, then counted locally) under the SDK's own per-key lock
(`nonce_manager.lock(k)`, the lock its `create_order` holds through the send), exactly as the SDK's
`process_api_key_and_nonce` wrapper does, but split in two:

* `sign_create_order` takes the key's lock, draws the next nonce (`async_next_nonce`) and signs in the signing
  thread. The returned `SignedTx` HOLDS the lock: no other transaction of the key can take a nonce between this
  one's signature and its send, so transactions reach the sequencer in nonce order (Lighter accepts only the
  key's next nonce: 21104 "invalid nonce" otherwise).
* `send` posts it (`send_tx`) and releases the lock. Bookkeeping mirrors the SDK wrapper: a refusal (HTTP 400,
  or a code other than 200) did not consume the nonce -> `acknowledge_failure` (the counter steps back);
  "invalid nonce" -> `async_hard_refresh_nonce` (the SDK's recovery: refetch `nextNonce`); an unknown outcome
  (5xx, timeout, connection lost) is left to the caller, who re-synchronises (`resync`) before looking the order
  up. Sending a `SignedTx` a second time (a retry) signs it again with a fresh nonce first.
* A signed transaction that is never sent can never block the key: `release` (on cancel or error), or
  automatically after `hold_seconds`, gives the nonce back (`acknowledge_failure`: nothing else took a nonce
  since, the lock was held) and releases the lock. Sending it afterwards simply signs it again.

Signing runs in ONE dedicated worker thread for the process (`SIGNING_THREAD`): off the event loop, and never two
signatures at once inside the Go library (it keeps its key clients in a shared table).

Why not the SDK alone: it offers the two halves (`sign_create_order`, `send_tx`, the nonce manager and its lock)
but no object that holds a signed transaction between them; this module is that object and nothing more.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import lighter
from lighter.signer_client import CODE_OK, trim_exc

from exchange_clients.lighter.common import LighterRejectedError

log = logging.getLogger("perparb.lighter.client")

SIGNING_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lighter-sign")
"""The worker thread every Lighter signature of the process runs in."""

TxResult = tuple[Any, Any, str | None]
"""(tx_info or None, RespSendTx or None, error text or None): what the SDK's `create_order` returns."""


class SignedTx:
    """A create-order transaction signed with nonce `nonce` of key `api_key_index`, not yet sent.

    Attributes:
        state: "signed" (holds the key's lock) -> "sending" -> "done", or "released" (given back unsent).
        fields: the `sign_create_order` arguments (to sign again for a retry).
    """

    def __init__(
        self, signer: TxSigner, fields: dict[str, Any], nonce: int, tx_type: int, tx_info: str
    ) -> None:
        self.signer = signer
        self.fields = fields
        self.nonce = nonce
        self.tx_type = tx_type
        self.tx_info = tx_info
        self.state = "signed"
        self.timer: asyncio.TimerHandle | None = None


class TxSigner:
    """Signs Lighter create-order transactions ahead of their send for one key (module docstring).

    Args:
        signer: the client's `lighter.SignerClient`.
        api_key_index: the key slot whose nonces are used.
        hold_seconds: a signed transaction not sent within this time is released (its nonce given back, the
            key's lock freed); > 0.

    Attributes:
        released: signed transactions given back unsent; invalid_nonces: "invalid nonce" answers recovered by
            the SDK's refetch; resyncs: nonce re-synchronisations after an unknown outcome.

    Raises:
        ValueError: `hold_seconds` <= 0.
    """

    def __init__(
        self, signer: lighter.SignerClient, api_key_index: int, *, hold_seconds: float = 2.0
    ) -> None:
        if hold_seconds <= 0:
            raise ValueError(f"lighter: hold_seconds must be > 0, got {hold_seconds}")
        self.signer = signer
        self.api_key_index = api_key_index
        self.hold_seconds = hold_seconds
        self.released = 0
        self.invalid_nonces = 0
        self.resyncs = 0

    @property
    def _nonces(self) -> Any:
        return self.signer.nonce_manager

    def _lock(self) -> asyncio.Lock:
        lock: asyncio.Lock = self._nonces.lock(self.api_key_index)
        return lock

    async def sign_create_order(self, **fields: Any) -> SignedTx:
        """Sign a create-order transaction now (`SignerClient.sign_create_order` keyword arguments: market_index,
        client_order_index, base_amount, price, is_ask, order_type, time_in_force, reduce_only, order_expiry).
        The result holds the key's lock until `send` or `release` (or `hold_seconds`).

        Raises:
            LighterRejectedError: the signer refused the fields (nothing held afterwards).
            lighter.ApiException / aiohttp.ClientError: the first `nextNonce` read of the key failed."""
        lock = self._lock()
        await lock.acquire()
        key = self.api_key_index
        try:
            _, nonce = await self._nonces.async_next_nonce(key)
            try:
                call = functools.partial(
                    self.signer.sign_create_order, **fields, nonce=nonce, api_key_index=key
                )
                tx_type, tx_info, _tx_hash, error = await asyncio.get_running_loop().run_in_executor(
                    SIGNING_THREAD, call
                )
            except BaseException:
                self._nonces.acknowledge_failure(key)
                raise
            if error is not None or tx_info is None or tx_type is None:
                self._nonces.acknowledge_failure(key)
                raise LighterRejectedError(f"the signer refused the order: {error}")
        except BaseException:
            lock.release()
            raise
        tx = SignedTx(self, fields, nonce, int(tx_type), tx_info)
        tx.timer = asyncio.get_running_loop().call_later(self.hold_seconds, self._expire, tx)
        return tx

    def _expire(self, tx: SignedTx) -> None:
        if tx.state == "signed":
            log.warning(
                "lighter: signed order (nonce %d) not sent within %g s: nonce given back",
                tx.nonce,
                self.hold_seconds,
            )
            self.release(tx)

    def release(self, tx: SignedTx) -> None:
        """Give an unsent transaction back: its nonce returns to the counter and the key's lock is freed.
        Does nothing once it was sent or released."""
        if tx.state != "signed":
            return
        tx.state = "released"
        if tx.timer is not None:
            tx.timer.cancel()
        self._nonces.acknowledge_failure(self.api_key_index)
        self.released += 1
        self._lock().release()

    async def send(self, tx: SignedTx) -> TxResult:
        """Send `tx` (signed again with a fresh nonce first if it was already sent or released) and release the
        key's lock; returns what the SDK's `create_order` returns: (tx_info, RespSendTx, None) when the venue
        answered (check `code`), (None, None, error text) when it refused with HTTP 400.

        Raises:
            lighter.ApiException (not 400) / aiohttp.ClientError / asyncio.TimeoutError: outcome UNKNOWN; the
            nonce counter is left alone: call `resync` before anything else is signed."""
        if tx.state != "signed":
            tx = await self.sign_create_order(**tx.fields)
        tx.state = "sending"
        if tx.timer is not None:
            tx.timer.cancel()
        key = self.api_key_index
        try:
            try:
                resp = await self.signer.send_tx(tx_type=tx.tx_type, tx_info=tx.tx_info)
            except lighter.exceptions.BadRequestException as exc:  # refused: the nonce was not consumed
                if "invalid nonce" in str(exc):
                    self.invalid_nonces += 1
                    await self._nonces.async_hard_refresh_nonce(key)  # the SDK's own recovery
                else:
                    self._nonces.acknowledge_failure(key)
                return None, None, trim_exc(str(exc))
            if resp is None or getattr(resp, "code", CODE_OK) != CODE_OK:
                self._nonces.acknowledge_failure(key)
            return tx.tx_info, resp, None
        finally:
            tx.state = "done"
            self._lock().release()

    async def resync(self) -> None:
        """Refetch the key's nonce from the venue (`async_hard_refresh_nonce`) under the key's lock, so no signed
        transaction in flight is overtaken. Used after an unknown outcome.

        Raises:
            lighter.ApiException / aiohttp.ClientError / asyncio.TimeoutError: the read failed."""
        async with self._lock():
            self.resyncs += 1
            await self._nonces.async_hard_refresh_nonce(self.api_key_index)
