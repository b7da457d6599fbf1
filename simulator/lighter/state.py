"""The state the concerns of the Lighter venue share (`LighterState`) and the lookups on it.

`simulator.lighter.trading.LighterTrading` is assembled from one mixin per concern, each a subclass of
`LighterState`: `transactions.TransactionsMixin` (`sendTx` / `sendTxBatch`), `accounts.AccountBodiesMixin` (account,
order, trade and funding bodies), `admin.AdminMixin` (the trading admin API); `trading.py` holds the engine set-up,
time and the engine-event recording. The methods one concern calls on another are declared here for the type
checker only.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from simulator.engine import Account, Engine, Order
from simulator.lighter.auth import LighterApiKey, LighterApiKeys
from simulator.lighter.config import LighterTradingConfig
from simulator.lighter.errors import ACCOUNT_NOT_FOUND, API_KEY_NOT_FOUND, LighterRequestError
from simulator.lighter.markets import MAKER_ACCOUNT_BASE, LighterMarket
from simulator.lighter.wire import ORDER_INDEX_BASE, OrderMeta
from simulator.scenario import Scenario, SimClock

if TYPE_CHECKING:
    from simulator.lighter.recorded_book import RecordedBookMaker
    from simulator.lighter.stream_hub import LighterStreamHub


class LighterState:
    """Attributes the concerns of `LighterTrading` share (set by `LighterTrading.__init__`) and the lookups on them.

    Attributes:
        scenario / clock / api_keys / config: as given to `LighterTrading`; engine: its engine (`LIGHTER_RULES`).
        markets / by_symbol: traded markets by Lighter index / engine symbol; makers: recorded-book makers by index.
        meta / by_index: venue view of engine orders (`OrderMeta`) by engine order id / Lighter order index.
        l1_addresses, created_ms, cancel_all_at: per account; trades / funding: user accounts' rows, oldest first;
        market_trades: per market, the last trades; entry_before: (account, market) -> average entry before the
        last fill; block_height: of the next transaction; hub: the WebSocket feeds.
    """

    scenario: Scenario
    clock: SimClock
    api_keys: LighterApiKeys
    config: LighterTradingConfig
    random_walk_recorded: bool
    engine: Engine
    markets: dict[int, LighterMarket]
    by_symbol: dict[str, LighterMarket]
    makers: dict[int, RecordedBookMaker]
    meta: dict[int, OrderMeta]
    by_index: dict[int, int]
    l1_addresses: dict[int, str]
    created_ms: dict[int, int]
    cancel_all_at: dict[int, int]
    trades: dict[int, list[dict[str, Any]]]
    market_trades: dict[int, deque[dict[str, Any]]]
    funding: dict[int, list[dict[str, Any]]]
    entry_before: dict[tuple[int, str], Decimal]
    block_height: int
    hub: LighterStreamHub

    def market(self, market_id: int) -> LighterMarket | None:
        """The traded market with this Lighter index, or None."""
        return self.markets.get(market_id)

    def resolve_market(self, text: str) -> LighterMarket:
        """A market by index ("0") or symbol ("ETH").

        Raises:
            KeyError: no such traded market.
        """
        if text.isdigit() and int(text) in self.markets:
            return self.markets[int(text)]
        if text in self.by_symbol:
            return self.by_symbol[text]
        raise KeyError(text)

    def register_order_meta(self, order: Order, meta: OrderMeta) -> None:
        """Remember how the venue shows an engine order (its Lighter index, owner, transaction)."""
        self.meta[order.order_id] = meta
        self.by_index[meta.order_index] = order.order_id

    def forget_order_meta(self, order: Order) -> None:
        """Drop the venue view of a finished market-maker order (bounded memory under a moving mid)."""
        meta = self.meta.pop(order.order_id, None)
        if meta is not None:
            self.by_index.pop(meta.order_index, None)

    def index_of_id(self, order_id: int) -> int:
        """The Lighter order index of an engine order id (0 for none, e.g. a liquidation's insurance side)."""
        if not order_id:
            return 0
        meta = self.meta.get(order_id)
        return meta.order_index if meta is not None else ORDER_INDEX_BASE + order_id

    def _slot(self, account_index: int, api_key_index: int) -> LighterApiKey:
        """The registered API-key slot (its `nonce` is the next transaction nonce).

        `LighterApiKeys` has no public slot accessor; this reads its registry (same process, same loop).

        Raises:
            LighterRequestError: 21100 unknown account, 21109 empty slot.
        """
        slots = self.api_keys._keys.get(account_index)
        if slots is None:
            raise LighterRequestError(ACCOUNT_NOT_FOUND, detail=f"account {account_index}")
        slot = slots.get(api_key_index)
        if slot is None:
            raise LighterRequestError(
                API_KEY_NOT_FOUND, detail=f"account {account_index} key {api_key_index}"
            )
        return slot

    def ensure_account(self, account_index: int) -> Account:
        """The engine account of a known venue account (created with 0 USDC the first time).

        Raises:
            LighterRequestError: 21100 when neither the engine nor the key registry knows the account.
        """
        account = self.engine.accounts.get(account_index)
        if account is not None and not account.exempt:
            return account
        if account is None and account_index in self.api_keys._keys and account_index < MAKER_ACCOUNT_BASE:
            account = self.engine.create_account(account_index)
            self.created_ms[account_index] = self.engine.now_ms()
            return account
        raise LighterRequestError(ACCOUNT_NOT_FOUND, detail=f"account {account_index}")

    def l1_address(self, account_index: int) -> str:
        return self.l1_addresses.get(account_index, "0x" + format(account_index, "040x"))

    if TYPE_CHECKING:  # provided by LighterTrading and its mixins

        def sync(self) -> None: ...

        def order_json(self, order: Order) -> dict[str, Any]: ...

        def position_json(self, account: Account, market: LighterMarket) -> dict[str, Any]: ...

        def _account_markets(self, account: Account) -> list[LighterMarket]: ...
