"""Small helpers of the simulated Aster: client order ids."""

from __future__ import annotations

import re
import secrets

#: `newClientOrderId` rule (asterdex/api-docs V3 "New Order": `^[\.A-Z\:/a-z0-9_-]{1,36}$`).
CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def new_client_id() -> str:
    """A venue-generated client order id (22 url-safe characters, like the recorded "NxMWPvOEyiF6TWh5UB8BQf0")."""
    return secrets.token_urlsafe(16)[:22].replace("-", "x").replace("_", "y")
