"""The `notifier` command: contracts other tools rely on, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from notifier.cli import app

SAMPLES = Path(__file__).parent / "carriers" / "samples"
CARRIERS = [
    "17track",
    "aftership",
    "binderbyte",
    "biteship",
    "canadapost",
    "dhl",
    "easypost",
    "fedex",
    "rajaongkir",
    "shippo",
    "simulator",
    "trackingmore",
    "ups",
    "usps",
]
runner = CliRunner()


def test_carriers_list_prints_exactly_the_contract_ids() -> None:
    out = runner.invoke(app, ["carriers", "list"])
    assert out.exit_code == 0
    assert out.stdout.split() == CARRIERS


def test_parse_one_number_prints_the_contract_shape() -> None:
    body = SAMPLES / "binderbyte" / "track-jnt-delivered-JP6961181926.json"
    out = runner.invoke(app, ["carriers", "parse", "--carrier", "binderbyte", str(body)])
    assert out.exit_code == 0
    got = json.loads(out.stdout)
    assert set(got) >= {"carrier", "tracking_number", "status", "estimated_delivery", "events"}
    assert got["status"] == "delivered" and got["events"][-1]["status"] == "delivered"
    assert got["events"][-1]["time"] == "2020-10-01T12:30:28"


def test_parse_many_numbers_prints_a_list() -> None:
    body = SAMPLES / "fedex" / "track-v1-doc-example-two-numbers.json"
    out = runner.invoke(app, ["carriers", "parse", "--carrier", "fedex", str(body)])
    assert out.exit_code == 0
    got = json.loads(out.stdout)
    assert [r["tracking_number"] for r in got] == ["123456789012", "39936862321"]
    assert got[1]["error"]["kind"] == "not_found"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--carrier", "ups", str(SAMPLES / "ups" / "error-auth-250003.json")], "ups: auth:"),
        (["--carrier", "nosuch", str(SAMPLES / "ups" / "error-auth-250003.json")], "unknown"),
        (["--carrier", "ups", "/nonexistent.json"], "cannot read"),
        (["--carrier", "ups", str(Path(__file__))], "not JSON"),
    ],
)
def test_parse_errors_are_one_line_exit_1(args, message) -> None:
    out = runner.invoke(app, ["carriers", "parse", *args])
    assert out.exit_code == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.output


def test_config_show_masks_secrets(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_SENDERS__TWILIO__AUTH_TOKEN", "very-secret-token")
    out = runner.invoke(app, ["config", "show"])
    assert out.exit_code == 0
    assert "very-secret-token" not in out.stdout
    shown = json.loads(out.stdout)
    assert shown["senders"]["twilio"]["auth_token"] == "**********"
    assert shown["notify"]["quiet_hours_start"] == "21:00"


def test_invalid_setting_stops_with_one_line(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_POLL__INTERVAL", "often")
    out = runner.invoke(app, ["config", "show"])
    assert out.exit_code == 2
    assert "poll.interval" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_merchant_create_and_duplicate(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    args = ["merchants", "create", "--slug", "toko-sekar", "--name", "Toko Batik Sekar"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0
    token = out.stdout.strip().splitlines()[-1]
    assert len(token) >= 40
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "exists already" in again.stderr
    bad = runner.invoke(app, [*args[:2], "--slug", "x y", "--name", "n", "--timezone", "Mars/X"])
    assert bad.exit_code == 1 and "slug" in bad.stderr


def test_doctor_loads_every_plugin(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    out = runner.invoke(app, ["doctor"])
    assert out.exit_code == 0, out.stdout
    assert "binderbyte" in out.stdout and "outbox" in out.stdout and "database: ok" in out.stdout


def _command_paths(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for command in group.registered_commands:
        name = command.name or (
            command.callback.__name__.replace("_", "-") if command.callback else ""
        )
        paths.append((*prefix, name))
    for sub in group.registered_groups:
        assert sub.typer_instance is not None and sub.name
        paths += _command_paths(sub.typer_instance, (*prefix, sub.name))
    return paths


@pytest.mark.parametrize("path", _command_paths(app), ids=" ".join)
def test_every_command_prints_its_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
