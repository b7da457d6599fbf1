"""The installed venues: every `exchange_clients/<venue>/spec.py` that defines `SPEC` (or `SPECS`), discovered.

Adding a venue is one package under `exchange_clients/` with a `spec.py`; nothing else lists it (see
docs/adding-a-venue.md). A spec can also be registered at run time (`register`), e.g. by a test or an external
plug-in.

* `venue_specs()` / `venue_names()` / `get_spec(name)`: what is installed;
* `create_funding_adapter(config)`, `create_client(credentials, config, **options)`: the venue's factories, given
  its typed config (built by the application from the environment, or by a test); both use the venue's shared
  scope (one rate budget, one HTTP session per event loop: `exchange_clients.base.scope`);
* `parse_credentials(venue, fields)` and `verify_credentials(credentials, config)`;
* `enable_sub_venues(parent, names)`: the sub-venues of a venue (`VenueSpec.sub_venues`, e.g. Hyperliquid's HIP-3
  dexes "hyperliquid:xyz") that the application enabled from its settings; they are then installed venues like
  any other (listed, collected, tradeable), each under its own id.

Discovery imports only each venue's `spec.py`, which imports its SDK lazily: listing venues costs no SDK import.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

import exchange_clients
from exchange_clients.base.auth import VerifyResult
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import venue_scope
from exchange_clients.base.spec import VenueSpec
from perparb_core.errors import ConfigError
from perparb_core.settings import FeeSide, VenueConfig

log = logging.getLogger(__name__)

_DISCOVERED: dict[str, VenueSpec] | None = None
_REGISTERED: dict[str, VenueSpec] = {}
_ENABLED: dict[str, dict[str, VenueSpec]] = {}  # parent -> {sub-venue id: spec}


class UnknownVenueError(ConfigError):
    """A venue id that no installed package registers; the message lists the known ones."""


def _discover() -> dict[str, VenueSpec]:
    global _DISCOVERED
    if _DISCOVERED is None:
        found: dict[str, VenueSpec] = {}
        for module in sorted(pkgutil.iter_modules(exchange_clients.__path__), key=lambda m: m.name):
            if not module.ispkg or module.name == "base":
                continue
            try:
                spec_module = importlib.import_module(f"exchange_clients.{module.name}.spec")
            except ModuleNotFoundError as exc:
                if exc.name == f"exchange_clients.{module.name}.spec":
                    continue  # a package without a spec (not a venue)
                raise
            specs = getattr(spec_module, "SPECS", None) or [spec_module.SPEC]
            for spec in specs:
                if not isinstance(spec, VenueSpec):
                    raise TypeError(f"exchange_clients.{module.name}.spec: {spec!r} is not a VenueSpec")
                found[spec.name] = spec
        _DISCOVERED = found
    return _DISCOVERED


def register(spec: VenueSpec) -> None:
    """Register a venue at run time (tests, external plug-ins); it wins over a discovered one of the same name."""
    _REGISTERED[spec.name] = spec


def unregister(name: str) -> None:
    """Forget a venue registered with `register` (no-op when unknown)."""
    _REGISTERED.pop(name, None)


def enable_sub_venues(parent: str, names: Iterable[str]) -> list[str]:
    """Make `names` (e.g. ["xyz"]) exactly the enabled sub-venues of `parent` (replacing any enabled before);
    returns their ids ("hyperliquid:xyz"), in the order given, without duplicates. An empty `names` disables
    them all.

    Raises:
        UnknownVenueError: `parent` is not installed.
        ConfigError: `parent` has no sub-venues, or a name its package refuses (the message says why).
    """
    spec = {**_discover(), **_REGISTERED}.get(parent)
    if spec is None:
        raise UnknownVenueError(f"unknown venue {parent!r}; known: {sorted(venue_specs())}")
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not wanted:
        _ENABLED.pop(parent, None)
        return []
    if spec.sub_venues is None:
        raise ConfigError(f"venue {parent!r} has no sub-venues (asked for {wanted})")
    built: dict[str, VenueSpec] = {}
    for name in wanted:
        try:
            sub = spec.sub_venues.build(name)
        except ValueError as exc:
            raise ConfigError(f"{parent} sub-venue {name!r}: {exc}") from None
        built[sub.name] = sub
    _ENABLED[parent] = built
    return list(built)


def venue_specs() -> dict[str, VenueSpec]:
    """Every installed venue by id, sorted by id: the discovered ones, the enabled sub-venues and the ones
    registered at run time."""
    merged = {**_discover(), **{k: v for subs in _ENABLED.values() for k, v in subs.items()}, **_REGISTERED}
    return {name: merged[name] for name in sorted(merged)}


def venue_default_fees() -> dict[tuple[str, FeeSide], Decimal]:
    """Every installed venue's documented standard-tier fees (`VenueSpec.fees`, sourced in each venue's
    spec module) as {(venue, "taker" | "maker"): fraction of notional}. The cost model uses them for a leg
    whose market metadata publishes no fee, before its blanket default (`cost_model.resolve_fee`)."""
    out: dict[tuple[str, FeeSide], Decimal] = {}
    for name, spec in venue_specs().items():
        out[(name, "taker")] = spec.fees.taker
        out[(name, "maker")] = spec.fees.maker
    return out


def venue_names() -> list[str]:
    """The installed venue ids, sorted."""
    return list(venue_specs())


def get_spec(venue: str) -> VenueSpec:
    """The spec of `venue`: an installed venue, or a sub-venue "<parent>:<sub>" of one (resolved even when not
    enabled, so stored data of it stays readable).

    Raises:
        UnknownVenueError: no installed venue has that id (the message lists the known ones).
    """
    specs = venue_specs()
    found = specs.get(venue) or _sub_venue(venue, specs)
    if found is None:
        raise UnknownVenueError(f"unknown venue {venue!r}; known: {sorted(specs)}") from None
    return found


_BUILT: dict[str, VenueSpec] = {}


def _sub_venue(venue: str, specs: Mapping[str, VenueSpec]) -> VenueSpec | None:
    """The spec of a sub-venue id ("hyperliquid:xyz") whose parent is installed, even when the settings do not
    enable it: stored accounts and rows of a sub-venue stay readable (it is not listed, collected or offered
    unless enabled). None when `venue` is no such id or the parent refuses the name."""
    parent_name, sep, sub = venue.partition(":")
    parent = specs.get(parent_name)
    if not sep or parent is None or parent.sub_venues is None:
        return None
    if venue not in _BUILT:
        try:
            built = parent.sub_venues.build(sub)
        except ValueError:
            return None
        if built.name != venue:
            return None
        _BUILT[venue] = built
    return _BUILT[venue]


def default_config(venue: str, **overrides: Any) -> VenueConfig:
    """`venue`'s config with its defaults changed by `overrides` (rest_url, ws_url, http, rate_limit).

    Raises:
        UnknownVenueError: unknown venue. ConfigError: an override of the wrong type or out of range.
    """
    spec = get_spec(venue)
    try:
        return spec.default_config(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{venue} config: {problems}") from None


def create_funding_adapter(config: VenueConfig) -> BaseFundingAdapter:
    """The funding adapter of `config.venue`, on the venue's shared scope.

    Raises:
        UnknownVenueError: unknown venue.
    """
    spec = get_spec(config.venue)
    return spec.create_funding_adapter(config, venue_scope(config))


def create_client(credentials: BaseCredentials, config: VenueConfig, **options: Any) -> BaseExchangeClient:
    """The trading client of `config.venue` for `credentials` (not connected), on the venue's shared scope, so
    the same code runs against mainnet, testnet or the simulator (whatever `config` points at).

    Raises:
        UnknownVenueError: unknown venue. TypeError: credentials of another venue.
    """
    if credentials.venue != config.venue:
        raise TypeError(f"{credentials.venue} credentials given for venue {config.venue!r}")
    spec = get_spec(config.venue)
    return spec.create_client(credentials, config, venue_scope(config), **options)


def credentials_type(venue: str) -> type[BaseCredentials]:
    """The credentials model of `venue`. Raises UnknownVenueError."""
    return get_spec(venue).credentials_type


def parse_credentials(venue: str, fields: Mapping[str, Any]) -> BaseCredentials:
    """Validate `fields` as `venue`'s credentials.

    Raises:
        UnknownVenueError: unknown venue. pydantic.ValidationError: naming the field (never echoing a secret).
    """
    return credentials_type(venue)(**dict(fields))


async def verify_credentials(credentials: BaseCredentials, config: VenueConfig) -> VerifyResult:
    """Verify `credentials` against their venue (`config` points at it). Never raises for a venue answer.

    Raises:
        UnknownVenueError: unknown venue. TypeError: credentials of another venue.
    """
    if credentials.venue != config.venue:
        raise TypeError(f"{credentials.venue} credentials given for venue {config.venue!r}")
    return await get_spec(config.venue).verify_credentials(credentials, config)
