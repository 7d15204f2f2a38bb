"""``notifier sources parse`` on marketplace bodies: the printed contract, and one line for an
error body (the sources are loaded by id as the entry points will name them)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from notifier import plugins
from notifier.cli import app
from tests.marketplaces.conftest import SOURCES
from tests.marketplaces.standin import SAMPLES

runner = CliRunner()


@pytest.fixture(autouse=True)
def _by_id(monkeypatch: pytest.MonkeyPatch) -> None:
    real = plugins.load_source
    monkeypatch.setattr(plugins, "load_source", lambda name: SOURCES.get(name) or real(name))


def parse(source: str, path) -> tuple[int, str]:
    result = runner.invoke(app, ["sources", "parse", "--source", source, str(path)])
    return result.exit_code, result.output


def test_a_shopee_detail_prints_the_contract():
    code, output = parse("shopee", SAMPLES / "shopee" / "order_get_order_detail.json")
    assert code == 0
    [order] = json.loads(output)["orders"]
    assert (order["external_id"], order["status"], order["shipments"]) == (
        "2404098R48U37H",
        "completed",
        [],
    )


def test_a_tiktok_order_names_its_parcel_and_the_carrier_it_could_not_tell():
    path = SAMPLES / "tiktok-shop" / "order_detail_doc_example_order.json"
    code, output = parse("tiktok_shop", path)
    assert code == 0
    [order] = json.loads(output)["orders"]
    assert order["shipments"] == [
        {"carrier": None, "courier": None, "tracking_number": "JX12345", "tracking_url": None}
    ]


@pytest.mark.parametrize(
    ("source", "sample"),
    [
        ("lazada", "lazada/logistic_order_trace.json"),
        ("shopee", "shopee/logistics_get_tracking_number.json"),
    ],
)
def test_bodies_without_orders(source, sample):
    code, output = parse(source, SAMPLES / sample)
    assert (code, json.loads(output)) == (0, {"orders": []})


def test_an_error_body_is_one_line(tmp_path):
    body = tmp_path / "error.json"
    body.write_text(json.dumps({"type": "ISV", "code": "IllegalAccessToken", "message": "expired"}))
    code, output = parse("lazada", body)
    assert code == 1
    assert output.strip() == "error: lazada: Lazada error IllegalAccessToken: expired"
