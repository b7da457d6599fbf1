"""Pure pieces of credential verification: the Paradex base-URL rewriting transport, secret scrubbing, and the
mapping of SDK / venue errors to `VerifyResult.detail` lines (the integration tests cover the live paths)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange_clients.base.auth import REDACTED, scrub
from exchange_clients.lighter.auth import describe_check_error
from exchange_clients.paradex.auth import (
    ParadexBaseUrlTransport,
    ParadexUrlRewriteError,
    _Exchange,
    describe_failure,
    env_for_url,
    sdk_base_url,
)

SIM = "http://127.0.0.1:8081/v1"
URL = "https://mainnet.zklighter.elliot.ai"


class Recorder(httpx.BaseTransport):
    """Inner transport: records the requests it is asked to send and answers 200 `{}`."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={})


# ------------------------------------------------------------------------------------------ transport


def test_transport_sends_sdk_urls_to_the_target_keeping_path_and_query() -> None:
    inner = Recorder()
    transport = ParadexBaseUrlTransport(sdk_base_url("prod"), SIM, inner)
    with httpx.Client(transport=transport) as client:
        response = client.post("https://api.prod.paradex.trade/v1/auth/0xab12?token_usage=interactive")

    assert response.status_code == 200
    (sent,) = inner.requests
    assert str(sent.url) == "http://127.0.0.1:8081/v1/auth/0xab12?token_usage=interactive"
    assert sent.headers["Host"] == "127.0.0.1:8081"
    assert sent.method == "POST"


def test_transport_replaces_the_base_path() -> None:
    transport = ParadexBaseUrlTransport(
        sdk_base_url("testnet"), "http://sim.local:9000/paradex/v1/", Recorder()
    )

    assert str(transport.rewrite(httpx.URL("https://api.testnet.paradex.trade/v1/system/config"))) == (
        "http://sim.local:9000/paradex/v1/system/config"
    )
    assert str(transport.rewrite(httpx.URL("https://api.testnet.paradex.trade/v1"))) == (
        "http://sim.local:9000/paradex/v1"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://api.prod.paradex.trade/v2/auth",  # other base path (the EVM flow)
        "https://api.prod.paradex.trade/v10/auth",  # prefix of the path, not of a segment
        "https://api.testnet.paradex.trade/v1/auth",  # other host
        "http://api.prod.paradex.trade/v1/auth",  # other scheme
        "https://api.prod.paradex.trade:8443/v1/auth",  # other port
    ],
)
def test_transport_refuses_anything_outside_the_source_base(url: str) -> None:
    inner = Recorder()
    transport = ParadexBaseUrlTransport(sdk_base_url("prod"), SIM, inner)
    with httpx.Client(transport=transport) as client, pytest.raises(ParadexUrlRewriteError, match="refusing"):
        client.get(url)
    assert inner.requests == []


@given(
    segments=st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1), max_size=4),
    query=st.dictionaries(st.text(alphabet="abcxyz", min_size=1), st.text(alphabet="0123456789", min_size=1)),
)
def test_transport_rewrite_keeps_every_path_suffix_and_query(
    segments: list[str], query: dict[str, str]
) -> None:
    transport = ParadexBaseUrlTransport(sdk_base_url("prod"), SIM, Recorder())
    suffix = "".join("/" + s for s in segments)
    source = httpx.URL(sdk_base_url("prod") + suffix, params=query)

    target = transport.rewrite(source)

    assert (target.scheme, target.host, target.port) == ("http", "127.0.0.1", 8081)
    assert target.path == "/v1" + suffix
    assert dict(target.params) == query


@pytest.mark.parametrize(
    ("url", "env"),
    [
        ("https://api.prod.paradex.trade/v1", "prod"),
        ("https://api.testnet.paradex.trade/v1", "testnet"),
        ("https://api.nightly.paradex.trade/v1", "nightly"),
        ("http://127.0.0.1:8081/v1", "prod"),
    ],
)
def test_env_for_url(url: str, env: str) -> None:
    assert env_for_url(url) == env


# ------------------------------------------------------------------------------------------ scrub


def test_scrub_replaces_every_spelling_of_a_hex_secret() -> None:
    secret = "0xABCDEF0123456789"
    text = "a 0xabcdef0123456789 b ABCDEF0123456789 c 0XabCDef0123456789 d"

    assert scrub(text, [secret]) == f"a {REDACTED} b {REDACTED} c {REDACTED} d"


def test_scrub_removes_anything_shaped_like_a_jwt() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIweDEifQ.c2lnbmF0dXJl-_"

    assert scrub(f"got {token}, done", []) == f"got {REDACTED}, done"


def test_scrub_ignores_short_secrets() -> None:
    assert scrub("the key is abc", ["abc"]) == "the key is abc"


@given(
    secret=st.text(alphabet="0123456789abcdef", min_size=16, max_size=80),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    with_prefix=st.booleans(),
)
def test_scrub_never_leaves_the_secret(secret: str, before: str, after: str, with_prefix: bool) -> None:
    text = before + ("0x" if with_prefix else "") + secret + after

    assert secret not in scrub(text, ["0x" + secret]).lower()


# ------------------------------------------------------------------------------------------ lighter errors


def describe(error: str) -> str:
    return describe_check_error(error, url=URL, account_index=7, api_key_index=3)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (
            "private key does not match the one on Lighter. ownPubKey: aaaaaaaaaaaaaaaaaaaa response: "
            "bbbbbbbbbbbbbbbbbbbb on api key 3",
            "Lighter rejected API key 3 of account 7: the private key does not match the public key registered on "
            "Lighter (registered bbbbbbbbbbbbbbbb..., this key's aaaaaaaaaaaaaaaa...)",
        ),
        (
            "private key does not match the one on Lighter. ownPubKey: abcd response:  on api key 3",
            "Lighter rejected API key 3 of account 7: the private key does not match the public key registered on "
            "Lighter (registered , this key's abcd)",
        ),
        (
            "failed to get Api Keys. err: no api key returned for index 3 on api key 3",
            "Lighter rejected API key 3 of account 7: no key is registered in that slot",
        ),
        (
            'failed to get Api Keys. err: {"code": 21100, "message": "account not found"} on api key 3',
            "Lighter rejected API key 3 of account 7: code 21100: account not found",
        ),
        (
            'failed to get Api Keys. err: {"code":502,"message":"Bad Gateway"} on api key 3',
            f"Lighter unavailable at {URL}: code 502: Bad Gateway",
        ),
        (
            'failed to get Api Keys. err: {"code":23000,"message":"Too Many Requests!"} on api key 3',
            f"Lighter rate-limited the check of API key 3 of account 7 at {URL}: code 23000: Too Many Requests!",
        ),
        (
            f'failed to get Api Keys. err: Get "{URL}/api/v1/apikeys?account_index=7": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers) on api key 3",
            f"Lighter unavailable at {URL}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        ),
        (
            "failed to get Api Keys. err: <html>\n<body>502 Bad Gateway</body></html> on api key 3",
            f"Lighter unavailable at {URL}: non-JSON answer '<html> <body>502 Bad Gateway</body></html>'",
        ),
        (
            # HTTP 200 with code != 200: the Go client returns the bare message
            "failed to get Api Keys. err: account is frozen on api key 3",
            "Lighter rejected API key 3 of account 7: account is frozen",
        ),
        (
            "client is not created for apiKeyIndex: 3 accountIndex: 7 on api key 3",
            "Lighter rejected API key 3 of account 7: client is not created for apiKeyIndex: 3 accountIndex: 7",
        ),
    ],
)
def test_lighter_check_errors_are_described(error: str, detail: str) -> None:
    assert describe(error) == detail


# ------------------------------------------------------------------------------------------ paradex errors


def exchange_with(status: int, body: object) -> _Exchange:
    exchange = _Exchange()
    request = httpx.Request("POST", f"{SIM}/auth/0xab")
    if isinstance(body, bytes):
        response = httpx.Response(status, content=body, request=request)
    else:
        response = httpx.Response(status, json=body, request=request)
    exchange.hook(response)
    return exchange


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (
            400,
            {"error": "NOT_ONBOARDED", "message": "User has never called /onboarding endpoint", "data": None},
            "Paradex rejected subkey 0xab of account 0x1: HTTP 400 NOT_ONBOARDED: "
            "User has never called /onboarding endpoint",
        ),
        (
            401,
            {"error": "UNAUTHORIZED_ERROR", "message": "no", "data": None},
            "Paradex rejected subkey 0xab of account 0x1: HTTP 401 UNAUTHORIZED_ERROR: no",
        ),
        (
            429,
            {"error": "TOO_MANY_REQUESTS", "message": "slow down", "data": None},
            f"Paradex rate-limited the check of subkey 0xab of account 0x1 at {SIM}: HTTP 429 TOO_MANY_REQUESTS: "
            "slow down",
        ),
        (
            502,
            b"<html>502 Bad Gateway</html>",
            f"Paradex unavailable at {SIM}: HTTP 502: <html>502 Bad Gateway</html>",
        ),
    ],
)
def test_paradex_venue_errors_are_described(status: int, body: object, detail: str) -> None:
    exchange = exchange_with(status, body)

    assert (
        describe_failure(ValueError("sdk text"), exchange, url=SIM, what="subkey 0xab of account 0x1")
        == detail
    )


def test_paradex_transport_error_wins_over_nothing_recorded() -> None:
    exc = httpx.ConnectTimeout("timed out")

    assert describe_failure(exc, _Exchange(), url=SIM, what="L1 account 0x1") == (
        f"Paradex unavailable at {SIM}: ConnectTimeout: timed out"
    )


def test_paradex_sdk_error_without_an_answer_is_described() -> None:
    exc = ValueError("ParadexL2: Invalid environment 'x'.\nValid values: ['prod']")

    assert describe_failure(exc, _Exchange(), url=SIM, what="L1 account 0x1") == (
        "Paradex check of L1 account 0x1 failed: ValueError: ParadexL2: Invalid environment 'x'. Valid values: ['prod']"
    )


def test_exchange_hook_does_not_read_successful_bodies() -> None:
    exchange = exchange_with(200, {"jwt_token": "header.payload.signature"})

    assert exchange.errors == []
    assert exchange.calls == [("POST", "/v1/auth/0xab", 200)]
