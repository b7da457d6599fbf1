"""The state the concerns of the Hyperliquid venue share (`HyperliquidState`), its accounts and what the venue
echoes beyond the engine.

`simulator.hyperliquid.trading.HyperliquidTrading` is assembled from one mixin per concern, each a subclass of
`HyperliquidState`: `actions.ActionsMixin` (`POST /exchange`: signature, nonce, orders, cancels, leverage, agents),
`info.InfoMixin` (`POST /info`), `account.AccountMixin` (account bodies: clearinghouseState, fills, funding, orders),
`feeds.FeedsMixin` (WebSocket channels from engine events), `admin.AdminMixin` (the admin API); `trading.py` holds
the engine set-up. The methods one concern calls on another are declared here for the type checker only.

Accounts: Hyperliquid keeps one clearinghouse per perp dex (docs for-developers/api/info-endpoint/perpetuals.md
`clearinghouseState` takes a `dex`; a HIP-3 dex holds its own collateral), so an address has one engine account per
dex it uses, keyed (address, dex). Addresses are lower-case `0x` + 40 hex. An address is KNOWN (may sign, is a
"user" for `userRole`) once it has an account on some dex: funded through the admin API, or created there.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from simulator.engine import Account, Engine, Fill, FundingPayment, Order, Trade
from simulator.hyperliquid.auth import Agents, NonceBook
from simulator.hyperliquid.config import HyperliquidTradingConfig
from simulator.hyperliquid.scenario import HyperliquidData
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def parse_address(value: Any, name: str = "user") -> str:
    """A `0x` + 40 hex address, lower-cased.

    Raises:
        ValueError: anything else (naming `name`)."""
    if not isinstance(value, str) or not ADDRESS.match(value.strip()):
        raise ValueError(f"{name} must be an address: 0x followed by 40 hex digits, got {value!r}")
    return value.strip().lower()


class FrameSink(Protocol):
    """Something that takes WebSocket frames to send (a `/ws` session)."""

    def push_nowait(self, frame: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Coin:
    """One traded perp: its name ("BTC", "xyz:XYZ100"), dex ("" = first perp dex), asset id and size decimals."""

    name: str
    dex: str
    asset: int
    sz_decimals: int


@dataclass
class OrderMeta:
    """What the venue echoes beyond the engine: the order's owner, dex and cloid."""

    user: str
    dex: str
    cloid: str | None


@dataclass
class Pending:
    """Engine changes not pushed yet (coalesced until the next event-loop turn)."""

    orders: dict[int, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    payments: list[FundingPayment] = field(default_factory=list)
    liquidated: set[int] = field(default_factory=set)


class HyperliquidState:
    """Attributes the concerns of `HyperliquidTrading` share (set by `HyperliquidTrading.__init__`) and accounts.

    Attributes:
        scenario / config / clock: as given to `HyperliquidTrading`; data: the scenario's Hyperliquid folder;
        engine: its engine (`HYPERLIQUID_RULES`, hourly settlement).
        coins / assets: coin name -> `Coin`, asset id -> `Coin` (traded perps only).
        accounts / owners: (address, dex) -> engine account id, and back.
        agents: approved API wallets; nonces: the nonces used per signer.
        _orders: engine order id -> `OrderMeta`; _cloids: (address, cloid) -> engine order id (every order placed
        with a cloid, accepted or refused, so `orderStatus` finds it).
        _funding_overrides / _funding_from_settings: coins whose rate the admin API / `scenario.json` set.
        _subscribers: address -> sink -> subscribed account channel names; _trade_sinks: coin -> `trades` sinks;
        _pending / _pending_trades / _flush_scheduled: the fan-out.
        _funding_marks: (engine account, coin) -> the position's funding total when it opened and last changed
        (for `cumFunding.sinceOpen` / `sinceChange`).
    """

    scenario: Scenario
    config: HyperliquidTradingConfig
    clock: SimClock
    data: HyperliquidData
    engine: Engine
    coins: dict[str, Coin]
    assets: dict[int, Coin]
    accounts: dict[tuple[str, str], int]
    owners: dict[int, tuple[str, str]]
    agents: Agents
    nonces: NonceBook
    _orders: dict[int, OrderMeta]
    _cloids: dict[tuple[str, str], int]
    _funding_overrides: dict[str, Decimal]
    _funding_from_settings: set[str]
    _subscribers: dict[str, dict[FrameSink, set[str]]]
    _trade_sinks: dict[str, set[FrameSink]]
    _pending: Pending
    _pending_trades: list[Trade]
    _flush_scheduled: bool
    _funding_marks: dict[tuple[int, str], tuple[Decimal, Decimal]]

    def is_known(self, address: str) -> bool:
        """True when `address` has an account on some dex (it may sign for itself)."""
        address = address.lower()
        return any(a == address for a, _dex in self.accounts)

    def account_of(self, address: str, dex: str) -> Account | None:
        """The engine account of (address, dex), or None when it has none."""
        account_id = self.accounts.get((address.lower(), dex))
        return self.engine.account(account_id) if account_id is not None else None

    def ensure_account(self, address: str, dex: str) -> Account:
        """The engine account of (address, dex), created with 0 USDC on first use."""
        key = (address.lower(), dex)
        account_id = self.accounts.get(key)
        if account_id is None:
            account = self.engine.create_account()
            self.accounts[key] = account.account_id
            self.owners[account.account_id] = key
            log.info("hyperliquid account %s (dex %r) -> engine account %d", key[0], dex, account.account_id)
            return account
        return self.engine.account(account_id)

    def fund(self, address: str, dex: str, amount: Decimal) -> Account:
        """Create the account if needed and deposit `amount` USDC (0 = create only)."""
        account = self.ensure_account(address, dex)
        if amount > 0:
            self.engine.deposit(account.account_id, amount)
        return account

    def user_accounts(self, address: str) -> list[Account]:
        """Every engine account of `address` (one per dex), in dex order."""
        address = address.lower()
        keys = sorted(k for k in self.accounts if k[0] == address)
        return [self.engine.account(self.accounts[k]) for k in keys]

    def cloid_of(self, order_id: int) -> str | None:
        meta = self._orders.get(order_id)
        return meta.cloid if meta is not None else None

    def user_of_account(self, account_id: int) -> str | None:
        owner = self.owners.get(account_id)
        return owner[0] if owner is not None else None

    if TYPE_CHECKING:  # provided by HyperliquidTrading's mixins

        def _schedule_flush(self) -> None: ...

        def clearinghouse_state(self, address: str, dex: str) -> dict[str, Any]: ...

        def fill_json(self, fill: Fill, address: str) -> dict[str, Any]: ...

        def open_orders_body(self, address: str, dex: str, *, frontend: bool) -> list[dict[str, Any]]: ...

        def order_status_body(self, address: str, oid: Any) -> dict[str, Any]: ...

        def historical_orders_body(self, address: str) -> list[dict[str, Any]]: ...

        def user_fills_body(
            self, address: str, start_ms: int | None = None, end_ms: int | None = None
        ) -> list[Any]: ...

        def user_funding_body(self, address: str, start_ms: int, end_ms: int | None) -> list[Any]: ...

        def mid(self, coin: str) -> Decimal: ...
