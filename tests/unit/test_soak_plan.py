"""The soak's plan (issue #18): the chaos schedule is a pure function of the seed, covers every fault kind inside
the fault window, the funding phases end flat, and every account's config is one the runner accepts."""

from __future__ import annotations

import pytest

from perparb.soak.harness import soak_venues
from perparb.soak.plan import FAULT_KINDS, GRID, STARTUP_SECONDS, SoakPlan, chaos_schedule, funding_phases
from strategies.config import FundingArbitrageConfig, GridConfig, parse_config


@pytest.fixture
def plan() -> SoakPlan:
    return SoakPlan(venues=tuple(soak_venues(None)))


def test_default_plan_is_the_issue_s() -> None:
    p = SoakPlan(venues=("a", "b"))
    assert (p.accounts, p.simulated_hours, p.seed) == (12, 6.0, 1)
    assert p.wall_seconds == 6 * 3600 / p.speed <= 600  # under 10 minutes of trading


def test_same_seed_same_schedule_other_seed_other_schedule(plan: SoakPlan) -> None:
    again = SoakPlan(venues=plan.venues)
    assert chaos_schedule(plan) == chaos_schedule(again)
    other = SoakPlan(venues=plan.venues, seed=2)
    assert chaos_schedule(other) != chaos_schedule(plan)
    assert funding_phases(plan) == funding_phases(again)


def test_schedule_covers_every_fault_kind_inside_the_window(plan: SoakPlan) -> None:
    events = chaos_schedule(plan)
    assert {e.kind for e in events} == set(FAULT_KINDS)
    assert all(STARTUP_SECONDS <= e.at <= plan.wall_seconds * 0.85 for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)
    per_kind = {k: sum(1 for e in events if e.kind == k) for k in FAULT_KINDS}
    assert per_kind.pop("db_restart") == 2  # one per three simulated hours: it ends every run
    assert set(per_kind.values()) == {6}  # one of each other kind per simulated hour
    short = SoakPlan(venues=plan.venues, accounts=4, simulated_hours=1, seed=7)
    assert {e.kind for e in chaos_schedule(short)} == set(FAULT_KINDS)
    assert all(e.target is None or isinstance(e.target, int) or e.target in plan.venues for e in events)


def test_sigterm_targets_say_on_stop_close(plan: SoakPlan) -> None:
    for e in chaos_schedule(plan):
        if e.kind == "sigterm_close":
            assert isinstance(e.target, int)
            assert plan.config(e.target, 3600)["on_stop"] == "close"


def test_funding_phases_alternate_and_end_flat(plan: SoakPlan) -> None:
    phases = funding_phases(plan)
    assert phases[0][0] == 0 and phases[0][1] != 0
    assert phases[-1] == (round(plan.wall_seconds * 0.9, 2), 0)
    directions = [d for _t, d in phases[:-1]]
    assert all((d == 0) == (i % 2 == 1) for i, d in enumerate(directions))


def test_every_account_config_is_valid_and_strategies_alternate(plan: SoakPlan) -> None:
    kinds = []
    for i in range(plan.accounts):
        cfg = parse_config(plan.config(i, 3600.0))
        kinds.append(type(cfg))
        if isinstance(cfg, GridConfig):
            assert cfg.venue in plan.venues
        else:
            assert tuple(cfg.venues) in plan.pairs
    assert kinds.count(FundingArbitrageConfig) == kinds.count(GridConfig) == plan.accounts // 2
    assert plan.strategy_of(1) == GRID
    assert len({plan.account_name(i, "t") for i in range(plan.accounts)}) == plan.accounts


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"accounts": 1}, "accounts must be at least 2"),
        ({"simulated_hours": 0}, "simulated_hours must be positive"),
        ({"speed": 0}, "speed must be positive"),
        ({"venues": ("a",)}, "at least two simulated venues"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(kw: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"venues": ("a", "b")} | kw
    with pytest.raises(ValueError, match=message):
        SoakPlan(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
def test_pairs_cover_every_venue_and_one_rate_per_venue_opens_every_pair(count: int) -> None:
    venues = tuple(f"v{i}" for i in range(count))
    p = SoakPlan(venues=venues)
    pairs = p.pairs
    assert {v for pair in pairs for v in pair} == set(venues)
    assert all(a != b for a, b in pairs)
    for long_venue, short_venue in pairs:  # in a +1 phase the long venue receives, the short venue is paid
        assert p.venue_sign(long_venue) == -1 and p.venue_sign(short_venue) == 1
    arbitrage = [tuple(p.account_venues(i)) for i in range(p.accounts) if i % 2 == 0]
    assert set(arbitrage) == set(pairs[: len(arbitrage)])  # the six arbitrage accounts use the pairs in turn
    grids = {p.account_venues(i)[0] for i in range(p.accounts) if i % 2 == 1}
    assert grids == set(venues[:6])
    with pytest.raises(ValueError, match="'elsewhere' is not one of the soak's venues"):
        p.venue_sign("elsewhere")


def test_soak_venues_default_is_every_simulated_venue() -> None:
    from simulator.protocol import installed_protocols

    chosen = soak_venues(None)
    assert chosen == sorted(chosen) and len(chosen) >= 2
    assert set(chosen) <= set(installed_protocols())
    plan = SoakPlan(venues=tuple(chosen))
    assert {v for i in range(plan.accounts) for v in plan.account_venues(i)} == set(chosen)


def test_soak_venues_refuses_unknown_and_single() -> None:
    with pytest.raises(ValueError, match="cannot be soaked"):
        soak_venues(["nowhere", "elsewhere"])
    first = soak_venues(None)[0]
    with pytest.raises(ValueError, match="two distinct venues"):
        soak_venues([first, first])
