"""Every error perparb raises on purpose, under one root: `PerparbError`.

    PerparbError
      ConfigError             a setting, config file or input value is unusable (also a ValueError)
      DatabaseError           the database cannot be reached, started or used
        DatabaseConfigError     ... because of its configuration (URL, data directory)
      VaultError              credential encryption: no key, wrong key, corrupt ciphertext
      DataError               history, scenario or payload files that cannot be read (also a ValueError)
      VenueError(venue, message, market=None)
        VenueUnavailableError   5xx, timeouts, connection refused: retryable
        VenueRateLimitedError   HTTP 429; `retry_after_seconds` from Retry-After when given: retryable
        VenueRejectedError      4xx / business error (bad parameter, unknown market): not retryable
        VenueAuthError          401/403, bad key or token: not retryable
        VenueDataError          a response whose envelope cannot be used at all (not JSON, wrong shape)

The application catches `PerparbError` once and prints its message on one line (exit code 2); anything else
is a bug and keeps its traceback. Packages subclass these kinds (`strategies.config.StrategyConfigError`,
`backtest.loader.HistoryError`, ...) rather than `Exception`, `ValueError` or `RuntimeError`.

Each venue package subclasses the venue kinds (e.g. `LighterUnavailableError(LighterError, VenueUnavailableError)`),
so callers can catch by kind across venues or by venue. Messages name the venue, market and value at fault
and never carry a secret.
"""

from __future__ import annotations


class PerparbError(Exception):
    """Root of every error perparb raises on purpose."""


class ConfigError(PerparbError, ValueError):
    """A setting, a config file or an input value is unusable. The message names the field and the value."""


class DatabaseError(PerparbError):
    """The database cannot be reached, started or used; the message names the target (password masked)."""


class DatabaseConfigError(DatabaseError):
    """The database configuration is unusable (URL scheme, data directory too long, server fails to start)."""


class VaultError(PerparbError):
    """The credential vault cannot be used: no master key, an unreadable key file, a key that does not decrypt."""


class DataError(PerparbError, ValueError):
    """A data file (funding history, scenario, recorded payload) cannot be read; the message names the file,
    the row or field and the value."""


class VenueError(PerparbError):
    """An error talking to, or reading data from, a venue.

    Attributes:
        venue: venue name ("lighter", "paradex").
        market: the venue symbol concerned, when one is.
    """

    retryable: bool = False

    def __init__(self, venue: str, message: str, *, market: str | None = None) -> None:
        self.venue = venue
        self.market = market
        where = f"{venue}" + (f" {market}" if market else "")
        super().__init__(f"{where}: {message}")


class VenueUnavailableError(VenueError):
    """The venue did not answer usefully (5xx, timeout, connection error). Retryable."""

    retryable = True


class VenueRateLimitedError(VenueError):
    """HTTP 429. `retry_after_seconds` is the venue's Retry-After when it sent one. Retryable."""

    retryable = True

    def __init__(
        self, venue: str, message: str, *, market: str | None = None, retry_after_seconds: float | None = None
    ) -> None:
        super().__init__(venue, message, market=market)
        self.retry_after_seconds = retry_after_seconds


class VenueRejectedError(VenueError):
    """The venue refused the request (4xx or an error code in the body). Not retryable."""


class VenueAuthError(VenueError):
    """Authentication or authorisation failed. Not retryable."""


class VenueDataError(VenueError):
    """A response that cannot be used at all (not JSON, missing its top-level list)."""
