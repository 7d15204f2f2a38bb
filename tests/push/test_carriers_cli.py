"""``notifier carriers detect NUMBER`` and ``notifier carriers check ID``: against the simulator
and against MockTransport-backed failing servers; exit 0 on success, 1 with one line otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from carriers.simulator.server import serve_in_thread
from notifier import carriers_cli
from notifier.cli import app

SAMPLES = Path(__file__).parent.parent / "carriers" / "samples"
runner = CliRunner()


def carriers(*args: str):
    return runner.invoke(app, ["carriers", *args])


# ----------------------------------------------------------------------------- detect


def test_detect_prints_candidates_most_likely_first() -> None:
    out = carriers("detect", "1Z999AA10123456784")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["ups", "0.97"]
    assert all(len(line.split("\t")) == 3 for line in lines)
    assert "easypost/UPS" in out.stdout and "check digit valid" in lines[0]


def test_detect_indonesian_courier_names_the_aggregator_and_courier() -> None:
    out = carriers("detect", "jp 696 118 1926")
    assert out.exit_code == 0
    assert out.stdout.splitlines()[0].startswith("binderbyte/jnt\t")


@pytest.mark.parametrize("number", ["hello", "1Z999AA10123456785"])  # nothing / bad check digit
def test_detect_exits_1_when_nothing_fits(number: str) -> None:
    out = carriers("detect", number)
    assert out.exit_code == 1
    assert out.stdout == "" and "no carrier format fits" in out.stderr


# ----------------------------------------------------------------------------- check


@pytest.fixture
def simulator() -> Iterator[object]:
    server = serve_in_thread(api_key="sim-key")
    yield server
    server.stop()


def test_check_against_the_simulator(simulator, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_CARRIERS__SIMULATOR__API_BASE", simulator.url)
    monkeypatch.setenv("NOTIFIER_CARRIERS__SIMULATOR__API_KEY", "sim-key")
    out = carriers("check", "simulator")
    assert out.exit_code == 0, out.output
    words = out.stdout.split()
    assert words[:2] == ["OK", "simulator"] and words[3] == "ms" and int(words[2]) >= 0
    assert simulator.url in out.stdout and "SIMNRM0001" in out.stdout


def test_check_against_the_simulator_with_a_wrong_key(simulator, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_CARRIERS__SIMULATOR__API_BASE", simulator.url)
    monkeypatch.setenv("NOTIFIER_CARRIERS__SIMULATOR__API_KEY", "wrong")
    out = carriers("check", "simulator")
    assert out.exit_code == 1
    assert out.stderr.startswith("error: simulator: auth:") and len(out.stderr.splitlines()) == 1


def test_check_an_unreachable_simulator(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_CARRIERS__SIMULATOR__API_BASE", "http://127.0.0.1:9")
    out = carriers("check", "simulator")
    assert out.exit_code == 1 and "simulator: unavailable: connection failed" in out.stderr


def serve(monkeypatch: pytest.MonkeyPatch, handler: Callable[[httpx.Request], httpx.Response]):
    """Every request of the check goes to ``handler``; returns the list of requests seen."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    def client(timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(record), timeout=timeout)

    monkeypatch.setattr(carriers_cli, "_client", client)
    return seen


@pytest.fixture
def ups_account(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_CARRIERS__UPS__CLIENT_ID", "cid")
    monkeypatch.setenv("NOTIFIER_CARRIERS__UPS__CLIENT_SECRET", "csecret")
    monkeypatch.setenv("NOTIFIER_CARRIERS__UPS__API_BASE", "https://wwwcie.ups.com")


def ups_server(track: Callable[[httpx.Request], httpx.Response]):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/security/v1/oauth/token":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        return track(request)

    return handler


def test_check_ups_authenticates_then_tracks_on_the_configured_base(ups_account, monkeypatch):
    body = (SAMPLES / "ups" / "track-v1-delivered-1Z1442YY7229014688.json").read_bytes()
    seen = serve(monkeypatch, ups_server(lambda r: httpx.Response(200, content=body)))
    out = carriers("check", "ups")
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("OK ups ") and "(1Z1442YY7229014688: delivered)" in out.stdout
    token, track = seen
    assert str(token.url) == "https://wwwcie.ups.com/security/v1/oauth/token"
    assert token.headers["Authorization"].startswith("Basic ")
    assert track.url.path == "/api/track/v1/details/1Z1442YY7229014688"
    assert track.headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize(
    ("token_status", "track_status", "kind"),
    [
        (401, 200, "auth"),  # the OAuth client credentials are refused
        (200, 500, "unavailable"),
        (200, 429, "rate_limited"),
        (200, 403, "auth"),
    ],
)
def test_check_ups_failures_name_the_kind(
    ups_account, monkeypatch, token_status, track_status, kind
):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/security/v1/oauth/token":
            if token_status != 200:
                return httpx.Response(token_status, json={"error": "invalid_client"})
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        return httpx.Response(track_status, text="nope")

    serve(monkeypatch, handler)
    out = carriers("check", "ups")
    assert out.exit_code == 1
    assert out.stderr.startswith(f"error: ups: {kind}: ") and len(out.stderr.splitlines()) == 1
    assert "Traceback" not in out.output


def test_check_without_credentials_is_an_auth_error(monkeypatch) -> None:
    serve(monkeypatch, lambda r: httpx.Response(500))
    out = carriers("check", "fedex")
    assert out.exit_code == 1 and "fedex: auth: setting carriers.fedex.client_id" in out.stderr


def test_check_aftership_not_found_is_ok_and_registers_nothing(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_CARRIERS__AFTERSHIP__API_KEY", "as-key")
    empty = {"meta": {"code": 200}, "data": {"trackings": []}}
    seen = serve(monkeypatch, lambda r: httpx.Response(200, json=empty))
    out = carriers("check", "aftership")
    assert out.exit_code == 0, out.output
    assert "(1234567890: not_found)" in out.stdout
    assert [r.method for r in seen] == ["GET"]  # no POST /trackings: no quota used
    assert seen[0].headers["as-api-key"] == "as-key"


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (httpx.Response(200, text="<html>maintenance</html>"), "bad_response"),
        (httpx.Response(401, json={"meta": {"code": 401, "message": "Invalid API key"}}), "auth"),
    ],
)
def test_check_aftership_failures(monkeypatch, response, kind) -> None:
    monkeypatch.setenv("NOTIFIER_CARRIERS__AFTERSHIP__API_KEY", "as-key")
    serve(monkeypatch, lambda r: response)
    out = carriers("check", "aftership")
    assert out.exit_code == 1 and out.stderr.startswith(f"error: aftership: {kind}:")


def test_check_17track_body_level_auth_error(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_CARRIERS__17TRACK__API_KEY", "bad")
    errors = [{"code": -18010002, "message": "Invalid security key."}]
    serve(
        monkeypatch,
        lambda r: httpx.Response(200, json={"code": -18010002, "data": {"errors": errors}}),
    )
    out = carriers("check", "17track")
    assert out.exit_code == 1
    assert out.stderr.strip() == "error: 17track: auth: Invalid security key. (code -18010002)"


def test_check_uses_the_configured_check_number(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_CARRIERS__BINDERBYTE__API_KEY", "bb")
    monkeypatch.setenv("NOTIFIER_CARRIERS__BINDERBYTE__CHECK_NUMBER", "000779194122")
    monkeypatch.setenv("NOTIFIER_CARRIERS__BINDERBYTE__CHECK_COURIER", "sicepat")
    body = (SAMPLES / "binderbyte" / "track-sicepat-lost-000779194122.json").read_bytes()
    seen = serve(monkeypatch, lambda r: httpx.Response(200, content=body))
    out = carriers("check", "binderbyte")
    assert out.exit_code == 0, out.output
    assert seen[0].url.params["awb"] == "000779194122"
    assert seen[0].url.params["courier"] == "sicepat"


def test_check_unknown_carrier() -> None:
    out = carriers("check", "nosuch")
    assert out.exit_code == 1 and "unknown carrier 'nosuch'" in out.stderr
