"""The simulator's authentication state (`simulator/auth.py`): Lighter API keys, Paradex onboarding/subkeys/JWTs,
their scenario files and admin routes. The SDK round trips are in tests/integration/test_credential_verification.py.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from simulator.auth import SimAuthError
from simulator.lighter.auth import LighterApiKeys
from simulator.paradex.auth import ParadexAuth
from simulator.scenario import ScenarioError, SimClock
from simulator.scenario_loader import load_scenario
from simulator.server import DEMO_SCENARIO, start_simulator

NOW_MS = 1_800_000_000_000
KEY_A = "ab" * 40
KEY_B = "CD" * 40
ACCOUNT = 0x5AB1
MAIN_KEY = 0x1234
SUBKEY = 0x5678
AUTH_HEADERS = {
    "PARADEX-STARKNET-ACCOUNT": hex(ACCOUNT),
    "PARADEX-STARKNET-SIGNATURE": '["1","2"]',
    "PARADEX-TIMESTAMP": "1",
}
ONBOARD_HEADERS = {
    "PARADEX-ETHEREUM-ACCOUNT": "0x" + "11" * 20,
    "PARADEX-STARKNET-ACCOUNT": hex(ACCOUNT),
    "PARADEX-STARKNET-SIGNATURE": '["1","2"]',
}


def payload_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# ------------------------------------------------------------------------------------------ Lighter


def test_lighter_keys_answer_like_the_venue() -> None:
    keys = LighterApiKeys(SimClock(NOW_MS))
    keys.register(7, 3, "0x" + KEY_B)
    keys.register(7, 1, KEY_A, nonce=5)

    assert keys.apikeys(7, None) == {
        "code": 200,
        "api_keys": [
            {
                "account_index": 7,
                "api_key_index": 1,
                "nonce": 5,
                "public_key": KEY_A,
                "transaction_time": NOW_MS * 1000,
            },
            {
                "account_index": 7,
                "api_key_index": 3,
                "nonce": 0,
                "public_key": KEY_B.lower(),
                "transaction_time": NOW_MS * 1000,
            },
        ],
    }
    assert [k["api_key_index"] for k in keys.apikeys(7, 255)["api_keys"]] == [1, 3]
    assert [k["api_key_index"] for k in keys.apikeys(7, 3)["api_keys"]] == [3]
    assert keys.apikeys(7, 4) == {"code": 200, "api_keys": []}
    assert keys.next_nonce(7, 1) == {"code": 200, "nonce": 5}
    assert keys.next_nonce(7, 9) == {"code": 200, "nonce": 0}


def test_lighter_unknown_account_is_21100() -> None:
    keys = LighterApiKeys(SimClock(NOW_MS))
    for call in (lambda: keys.apikeys(8, None), lambda: keys.next_nonce(8, 3)):
        with pytest.raises(SimAuthError) as caught:
            call()
        assert (caught.value.status, caught.value.body) == (
            400,
            {"code": 21100, "message": "account not found"},
        )


def test_lighter_key_must_be_40_bytes_of_hex() -> None:
    with pytest.raises(ValueError, match="40 bytes"):
        LighterApiKeys(SimClock(NOW_MS)).register(7, 3, "ab" * 39)


# ------------------------------------------------------------------------------------------ Paradex


def onboarded() -> ParadexAuth:
    auth = ParadexAuth(SimClock(NOW_MS))
    auth.onboard(ONBOARD_HEADERS, {"public_key": hex(MAIN_KEY)})
    return auth


def test_paradex_jwt_has_three_parts_and_expires_in_five_minutes() -> None:
    auth = onboarded()

    token = auth.authenticate(AUTH_HEADERS, hex(MAIN_KEY))["jwt_token"]

    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert payload_of(token) == {
        "typ": "at+JWT",
        "iss": "Paradex simulator",
        "sub": hex(ACCOUNT),
        "pubkey": hex(MAIN_KEY),
        "iat": NOW_MS // 1000,
        "exp": NOW_MS // 1000 + 300,
    }
    assert auth.account_for_token(token) == ACCOUNT


def test_paradex_token_is_refused_when_tampered_foreign_or_expired() -> None:
    auth = onboarded()
    token = auth.authenticate(AUTH_HEADERS, hex(MAIN_KEY))["jwt_token"]
    head, body, signature = token.split(".")

    assert auth.account_for_token(f"{head}.{body}.{signature[:-2]}AA") is None
    assert auth.account_for_token(f"{head}.{body}") is None
    assert onboarded().account_for_token(token) is None  # another simulator's secret
    auth.clock.freeze(NOW_MS + 300_000)
    assert auth.account_for_token(token) == ACCOUNT  # exp is inclusive
    auth.clock.freeze(NOW_MS + 301_000)
    assert auth.account_for_token(token) is None


def test_paradex_auth_decisions() -> None:
    auth = ParadexAuth(SimClock(NOW_MS))
    with pytest.raises(SimAuthError) as unknown:
        auth.authenticate(AUTH_HEADERS, hex(MAIN_KEY))
    assert (unknown.value.status, unknown.value.body) == (
        400,
        {"error": "NOT_ONBOARDED", "message": "User has never called /onboarding endpoint", "data": None},
    )

    auth.register_subkey(ACCOUNT, SUBKEY)
    auth.register_subkey(ACCOUNT, SUBKEY + 1, state="pending")
    auth.register_subkey(ACCOUNT, SUBKEY + 2, revoked_at=1)
    assert payload_of(auth.authenticate(AUTH_HEADERS, hex(SUBKEY))["jwt_token"])["pubkey"] == hex(SUBKEY)
    for refused in (MAIN_KEY, SUBKEY + 1, SUBKEY + 2):  # main key not onboarded yet, pending, revoked
        with pytest.raises(SimAuthError) as caught:
            auth.authenticate(AUTH_HEADERS, hex(refused))
        assert caught.value.status == 401
        assert caught.value.body["error"] == "UNAUTHORIZED_ERROR"


@pytest.mark.parametrize(
    ("headers", "key", "code"),
    [
        (
            {k: v for k, v in AUTH_HEADERS.items() if k != "PARADEX-TIMESTAMP"},
            hex(MAIN_KEY),
            "VALIDATION_ERROR",
        ),
        ({**AUTH_HEADERS, "PARADEX-STARKNET-ACCOUNT": "5ab1"}, hex(MAIN_KEY), "INVALID_STARKNET_ADDRESS"),
        (AUTH_HEADERS, "0xnothex", "PUBLIC_KEY_INVALID"),
    ],
)
def test_paradex_auth_bad_requests(headers: dict[str, str], key: str, code: str) -> None:
    with pytest.raises(SimAuthError) as caught:
        onboarded().authenticate(headers, key)
    assert caught.value.status == 400
    assert caught.value.body["error"] == code


def test_paradex_onboarding_is_idempotent_and_keeps_its_key() -> None:
    auth = onboarded()
    auth.onboard(ONBOARD_HEADERS, {"public_key": hex(MAIN_KEY)})
    assert auth.accounts_snapshot() == [
        {"address": hex(ACCOUNT), "public_key": hex(MAIN_KEY), "ethereum_account": "0x" + "11" * 20}
    ]

    with pytest.raises(SimAuthError) as other_key:
        auth.onboard(ONBOARD_HEADERS, {"public_key": hex(SUBKEY)})
    assert other_key.value.body["error"] == "PUBLIC_KEY_INVALID"
    with pytest.raises(SimAuthError) as no_body:
        ParadexAuth(SimClock(NOW_MS)).onboard(ONBOARD_HEADERS, None)
    assert no_body.value.body["error"] == "VALIDATION_ERROR"
    with pytest.raises(SimAuthError) as no_eth:
        ParadexAuth(SimClock(NOW_MS)).onboard(
            {k: v for k, v in ONBOARD_HEADERS.items() if k != "PARADEX-ETHEREUM-ACCOUNT"},
            {"public_key": "0x1"},
        )
    assert no_eth.value.body["message"] == "header PARADEX-ETHEREUM-ACCOUNT is required"


def test_paradex_auth_repr_shows_no_secret() -> None:
    auth = onboarded()
    assert repr(auth) == "ParadexAuth(accounts=1, subkeys=0)"


# ------------------------------------------------------------------------------------------ scenario files


def scenario_with(tmp_path: Path, relative: str, body: Any) -> Path:
    folder = tmp_path / "s"
    (folder / relative).parent.mkdir(parents=True)
    (folder / relative).write_text(json.dumps(body))
    return folder


@pytest.mark.parametrize(
    ("relative", "body", "problem"),
    [
        ("lighter/apikeys.json", {"code": 200}, "lacks the 'api_keys' list"),
        (
            "lighter/apikeys.json",
            {"api_keys": [{"account_index": 7, "api_key_index": 3, "public_key": "abcd"}]},
            "api_keys[0].public_key must be 80 hex digits",
        ),
        (
            "lighter/apikeys.json",
            {"api_keys": [{"account_index": 7, "api_key_index": 255, "public_key": KEY_A}]},
            "api_keys[0].api_key_index must be 0..254",
        ),
        (
            "paradex/subkeys.json",
            {"results": [{"account_id": "5ab1", "public_key": "0x1"}]},
            "results[0].account_id must be 0x followed by 1-64 hex digits",
        ),
        (
            "paradex/subkeys.json",
            {"results": [{"account_id": "0x5ab1", "public_key": "0x1", "revoked_at": "never"}]},
            "results[0].revoked_at must be an integer",
        ),
    ],
)
def test_bad_auth_scenario_files_stop_loading(tmp_path: Path, relative: str, body: Any, problem: str) -> None:
    folder = scenario_with(tmp_path, relative, body)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(folder)
    assert caught.value.path == folder / relative
    assert problem in caught.value.problem


# ------------------------------------------------------------------------------------------ HTTP


async def test_http_errors_and_admin_validation() -> None:
    async with await start_simulator(DEMO_SCENARIO) as sim, aiohttp.ClientSession() as http:
        root = sim.url("paradex").removesuffix("/v1")

        async def call(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
            async with http.request(method, url, **kwargs) as resp:
                text = await resp.text()
                return resp.status, json.loads(text) if text else None

        assert await call("GET", sim.url("lighter") + "/api/v1/apikeys") == (
            400,
            {"code": 20001, "message": "invalid param "},
        )
        assert await call(
            "GET", sim.url("lighter") + "/api/v1/nextNonce?account_index=1&api_key_index=x"
        ) == (
            400,
            {"code": 20001, "message": "invalid param "},
        )
        status, body = await call("POST", sim.url("lighter") + "/_sim/lighter/apikeys", data=b"{")
        assert status == 400 and body["error"].startswith("body is not JSON")
        status, body = await call(
            "POST",
            sim.url("lighter") + "/_sim/lighter/apikeys",
            json={"account_index": 1, "api_key_index": 300, "public_key": KEY_A, "extra": 1},
        )
        assert status == 400
        assert "api_key_index: Input should be less than or equal to 254" in body["error"]
        assert "extra: Extra inputs are not permitted" in body["error"]
        status, body = await call(
            "POST", root + "/_sim/paradex/subkeys", json={"l2_address": "1", "public_key": "0x2"}
        )
        assert status == 400 and "0x followed by 1-64 hex digits" in body["error"]

        assert await call(
            "POST", root + "/_sim/paradex/subkeys", json={"l2_address": "0x5ab1", "public_key": "0x2"}
        ) == (200, {"subkey": {"account_id": "0x5ab1", "public_key": "0x2", "state": "active"}})
        assert await call("GET", root + "/_sim/paradex/subkeys") == (
            200,
            {"results": [{"account_id": "0x5ab1", "public_key": "0x2", "state": "active", "revoked_at": 0}]},
        )
        status, body = await call(
            "POST", sim.url("paradex") + "/onboarding", headers=ONBOARD_HEADERS, data=b"nope"
        )
        assert (status, body["error"]) == (400, "VALIDATION_ERROR")
        status, body = await call(
            "POST",
            sim.url("paradex") + "/onboarding",
            headers=ONBOARD_HEADERS,
            json={"public_key": hex(MAIN_KEY)},
        )
        assert (status, body) == (200, None)
        assert await call("GET", root + "/_sim/paradex/accounts") == (
            200,
            {
                "results": [
                    {
                        "address": hex(ACCOUNT),
                        "public_key": hex(MAIN_KEY),
                        "ethereum_account": "0x" + "11" * 20,
                    }
                ]
            },
        )
        # faults apply to the auth endpoints like to any venue endpoint
        assert (await call("POST", root + "/_sim/faults", json={"http_status": 500, "count": 1}))[0] == 200
        status, body = await call("POST", sim.url("paradex") + f"/auth/{hex(MAIN_KEY)}", headers=AUTH_HEADERS)
        assert (status, body["error"]) == (500, "INTERNAL_ERROR")
        status, body = await call("POST", sim.url("paradex") + f"/auth/{hex(MAIN_KEY)}", headers=AUTH_HEADERS)
        assert status == 200 and set(body) == {"jwt_token"}
