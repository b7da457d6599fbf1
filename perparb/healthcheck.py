"""Container health check without curl: `python -m perparb.healthcheck [URL]`.

GETs `URL` (default `default_url()`: the API's `/api/v1/health` on the container's own loopback, at
`PERPARB_API_PORT`, 8000 unless set, the port `perparb serve` binds by default) and exits 0 when it
answers HTTP 200 within `TIMEOUT_SECONDS`, else 1 with one line on stderr saying why. The API answers 200 while its
database answers (status `ok`, or `degraded` when a venue's data is stale: the API still serves) and 503 when the
database is down, so the container is unhealthy exactly when the dashboard cannot show anything. The collector's
and the runners' containers point it at their `--metrics-port` (`http://127.0.0.1:PORT/metrics`): healthy while
the process serves its metrics (docker-compose.yml).

Imports only the standard library: it runs every few seconds, and must start fast and never need the network.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 5.0


def default_url() -> str:
    """`http://127.0.0.1:<PERPARB_API_PORT or 8000>/api/v1/health`."""
    port = os.environ.get("PERPARB_API_PORT", "").strip() or "8000"
    return f"http://127.0.0.1:{port}/api/v1/health"


def check(url: str, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    """(healthy, what happened) for one GET of `url`. Never raises."""
    if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        return False, f"{url}: the health check only asks this container's own loopback"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback http only (checked above)
            status = response.status
    except urllib.error.HTTPError as exc:
        return False, f"{url}: HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{url}: {reason}"
    return status == 200, f"{url}: HTTP {status}"


def main(argv: list[str] | None = None) -> int:
    """Exit status of the health check (0 healthy, 1 not); the reason on stderr when unhealthy."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m perparb.healthcheck [URL]", file=sys.stderr)
        return 2
    healthy, why = check(args[0] if args else default_url())
    if not healthy:
        print(f"unhealthy: {why}", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
