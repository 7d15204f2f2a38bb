"""``notifier sources list|parse|check|sync``: every sample through ``parse``, error bodies in one
line, and check/sync against the stand-ins with a real database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from notifier.cli import app
from notifier.orders.parse_contract import contract
from notifier.orders.shopify import parse as shopify_parse
from notifier.orders.woocommerce import parse as woocommerce_parse
from notifier.store.db import make_engine
from notifier.store.models import Merchant, Order, SourceCursor
from notifier.testing_providers import serve
from tests.conftest import START
from tests.marketplaces.shopee_standin import ShopeeStandIn
from tests.marketplaces.test_shopee_sync import entry as shopee_entry
from tests.sources.conftest import SAMPLES
from tests.sources.standins import WooStandIn, woo_order

runner = CliRunner()
PARSERS = {"shopify": shopify_parse, "woocommerce": woocommerce_parse}


def test_list_names_every_registered_source():
    result = runner.invoke(app, ["sources", "list"])
    assert result.exit_code == 0
    assert {"inbox", "shopify", "woocommerce"} <= set(result.stdout.split())


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.glob("*/*.json")), ids=str
)
def test_parse_prints_the_contract_for_every_sample(path):
    source = path.split("/")[0]
    result = runner.invoke(app, ["sources", "parse", "--source", source, str(SAMPLES / path)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    body = json.loads((SAMPLES / path).read_text(encoding="utf-8"))
    assert printed == {"orders": [contract(o) for o in PARSERS[source](body)]}


def test_parse_a_body_without_orders(tmp_path):
    body = tmp_path / "events.json"
    body.write_text(json.dumps({"fulfillment_events": []}))
    result = runner.invoke(app, ["sources", "parse", "--source", "shopify", str(body)])
    assert result.exit_code == 0 and json.loads(result.stdout) == {"orders": []}


def test_parse_uses_the_merchants_aggregator_when_told():
    path = SAMPLES / "woocommerce" / "wc_v3_order_get.json"
    order = json.loads(path.read_text())
    order["meta_data"].append(
        {"key": "_wc_shipment_tracking_items", "value": [{"tracking_provider": "jne",
                                                          "tracking_number": "JP1234567890"}]}
    )  # fmt: skip
    body = path.parent.parent.parent / "jne-order.json"
    body.write_text(json.dumps(order))
    try:
        args = ["sources", "parse", "--source", "woocommerce", "--aggregator", "biteship"]
        result = runner.invoke(app, [*args, str(body)])
    finally:
        body.unlink()
    (parcel,) = json.loads(result.stdout)["orders"][0]["shipments"]
    assert (parcel["carrier"], parcel["courier"]) == ("biteship", "jne")


WOO_401 = {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
           "data": {"status": 401}}  # fmt: skip
THROTTLED = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
ERRORS = [
    ("shopify", json.dumps({"errors": "[API] Invalid API key or access token"}),
     "error: shopify: Shopify error: [API] Invalid API key or access token"),
    ("shopify", json.dumps(THROTTLED), "error: shopify: Shopify error: Throttled (THROTTLED)"),
    ("woocommerce", json.dumps(WOO_401), "error: woocommerce: WooCommerce error "
     "woocommerce_rest_cannot_view: Sorry, you cannot list resources. (HTTP 401)"),
    ("woocommerce", "<html><body>502 Bad Gateway</body></html>",
     "error: woocommerce: not JSON: Expecting value: line 1 column 1 (char 0)"),
    ("nosuch", "{}", "error: unknown order source 'nosuch'"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "content", "line"), ERRORS)
def test_parse_an_error_body_is_one_line_and_exit_1(tmp_path, source, content, line):
    body = tmp_path / "body.json"
    body.write_text(content)
    result = runner.invoke(app, ["sources", "parse", "--source", source, str(body)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines()[0].startswith(line) and len(result.stderr.splitlines()) == 1


def test_parse_a_missing_file(tmp_path):
    result = runner.invoke(app, ["sources", "parse", "--source", "shopify", str(tmp_path / "no")])
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot read")


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", url)
    monkeypatch.setenv("NOTIFIER_VAR_DIR", str(tmp_path / "var"))
    yield engine
    engine.dispose()


@pytest.fixture
def woo(database):
    stand_in = WooStandIn(
        [woo_order(i, START - timedelta(days=40, minutes=-i)) for i in range(1, 6)]
    )
    with serve(stand_in.app()) as served:
        entry = {"id": "woocommerce", "url": served.url, "consumer_key": "ck_test",
                 "consumer_secret": "cs_test", "per_page": 2}  # fmt: skip
        with Session(database) as session:
            session.add(Merchant(slug="sekar", name="Sekar", api_token_hash="h", created_at=START,
                                 settings={"sources": [entry]}))  # fmt: skip
            session.commit()
        yield stand_in


def test_check_and_sync(database, woo):
    checked = runner.invoke(app, ["sources", "check", "woocommerce", "--merchant", "sekar"])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith("OK woocommerce for sekar: 5 order(s) in the store, REST v3 (")
    assert checked.stdout.splitlines()[1] == (  # where to point the store's webhooks
        "pushes: POST http://127.0.0.1:8080/webhooks/orders/woocommerce/sekar"
        " (refused until webhook_secret is set)"
    )
    # the orders changed 40 days ago are older than a first sync looks back: --since reaches them
    synced = runner.invoke(
        app, ["sources", "sync", "woocommerce", "--merchant", "sekar", "--since", "2026-10-01"]
    )
    assert synced.exit_code == 0, synced.output
    assert "woocommerce: 3 page(s); orders 5 created, 0 updated, 0 unchanged" in synced.stdout
    with Session(database) as session:
        assert len(session.exec(select(Order)).all()) == 5
        assert session.exec(select(SourceCursor)).one().last_error is None


def test_check_and_sync_failures(database, woo):
    unknown = runner.invoke(app, ["sources", "check", "shopify", "--merchant", "sekar"])
    assert unknown.exit_code == 2 and "no enabled 'shopify' entry" in unknown.stderr
    nobody = runner.invoke(app, ["sources", "sync", "woocommerce", "--merchant", "nobody"])
    assert nobody.exit_code == 2 and "no merchant 'nobody'" in nobody.stderr
    woo.keys = ("ck_test", "cs_other")
    refused = runner.invoke(app, ["sources", "check", "woocommerce", "--merchant", "sekar"])
    assert refused.exit_code == 1 and "credentials refused (HTTP 401)" in refused.stderr
    bad_date = runner.invoke(
        app, ["sources", "sync", "woocommerce", "--merchant", "sekar", "--since", "yesterday"]
    )
    assert bad_date.exit_code == 2 and "not an ISO date" in bad_date.stderr


def test_check_names_the_address_a_marketplace_pushes_to(database, monkeypatch):
    """Shopee signs the callback URL: check prints the very address to register."""
    monkeypatch.setenv("NOTIFIER_SERVER__PUBLIC_URL", "https://notify.toko.example/")
    with serve(ShopeeStandIn()) as served:
        with Session(database) as session:
            session.add(Merchant(slug="sekar", name="Sekar", api_token_hash="h", created_at=START,
                                 settings={"sources": [shopee_entry(served)]}))  # fmt: skip
            session.commit()
        checked = runner.invoke(app, ["sources", "check", "shopee", "--merchant", "sekar"])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines()[1] == (
        "pushes: POST https://notify.toko.example/webhooks/orders/shopee/sekar"
    )
