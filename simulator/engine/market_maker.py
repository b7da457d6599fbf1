"""Synthetic liquidity in the engine (`MarketMakerMixin`): a market maker's quotes around a mid path
(`simulator.engine.liquidity` for the quote formula and the mid paths)."""

from __future__ import annotations

from decimal import Decimal

from simulator.engine.errors import EngineError
from simulator.engine.liquidity import LiquidityConfig, MidPath, SyntheticLiquidity, quotes
from simulator.engine.market import MarketState
from simulator.engine.orders import ZERO, Order, OrderType, Reason, Side, TimeInForce
from simulator.engine.state import EngineState


class MarketMakerMixin(EngineState):
    """`Engine.add_liquidity`, `Engine.set_mid_path` and the quote refresh."""

    def add_liquidity(
        self,
        market: str,
        path: MidPath,
        config: LiquidityConfig | None = None,
        *,
        account_id: int | None = None,
    ) -> SyntheticLiquidity:
        """Give `market` a market maker quoting `config` depth around `path` (see `simulator.engine.liquidity`).

        The maker's account is created exempt (id default: next free). Its first quotes are placed at once and
        the mark moves to the path's mid.

        Raises:
            UnknownMarketError; EngineError when the market has a maker already.
        """
        state = self.market(market)
        if state.liquidity is not None:
            raise EngineError(f"market {market} has a market maker already")
        if account_id is None or account_id not in self.accounts:
            maker = self.create_account(account_id, exempt=True)
        else:
            maker = self.accounts[account_id]
            maker.exempt = True
        maker.keep_order_history = False
        liq = SyntheticLiquidity(market, maker.account_id, config or LiquidityConfig(), path)
        state.liquidity = liq
        self._liquidity.append((state, liq))
        self.sync()
        self._move_mark(state, path(self._now), self._now)
        self._refresh(state, liq)
        return liq

    def set_mid_path(self, market: str, path: MidPath) -> None:
        """Replace the mid path of `market`'s market maker (takes effect at once).

        Raises:
            UnknownMarketError; EngineError when the market has no market maker.
        """
        state = self.market(market)
        if state.liquidity is None:
            raise EngineError(f"market {market} has no market maker")
        self.sync()
        state.liquidity.path = path
        self._advance_to(self._now)

    def _refresh(self, state: MarketState, liq: SyntheticLiquidity) -> None:
        """Bring the maker's quotes to the target levels around its path's mid (= the mark): quotes at prices no
        longer wanted (or in excess) are cancelled, those still wanted keep their time priority, and missing
        size is added at the back of each level."""
        maker = self.accounts[liq.account_id]
        symbol = state.spec.symbol
        mid = state.mark_price
        bids, asks = quotes(mid, state.spec, liq.config)
        target: dict[tuple[Side, Decimal], Decimal] = {(Side.BUY, p): size for p, size in bids}
        target.update({(Side.SELL, p): size for p, size in asks})
        have: dict[tuple[Side, Decimal], Decimal] = {}
        for order in [o for o in maker.open_orders.values() if o.market == symbol]:
            assert order.price is not None
            key = (order.side, order.price)
            wanted = target.get(key)
            held = have.get(key, ZERO)
            if wanted is None or held + order.remaining > wanted:
                self._cancel_resting(maker, order, Reason.LIQUIDITY_REFRESH)
            else:
                have[key] = held + order.remaining
        now = self._now
        for side, levels in ((Side.BUY, bids), (Side.SELL, asks)):
            for price, size in levels:
                missing = size - have.get((side, price), ZERO)
                if missing <= 0:
                    continue
                self._order_seq += 1
                order = Order(
                    order_id=self._order_seq,
                    account_id=maker.account_id,
                    market=symbol,
                    side=side,
                    type=OrderType.LIMIT,
                    tif=TimeInForce.GTC,
                    price=price,
                    size=missing,
                    reduce_only=False,
                    client_id=None,
                    created_ms=now,
                    updated_ms=now,
                    remaining=missing,
                )
                maker.orders[order.order_id] = order
                self._execute(maker, order, state, None)
        liq.last_mid = mid
        liq.last_refresh_ms = now
        liq.hit = False
        liq.refreshes += 1
