"""``notifier orders import``: what the operator sees and the exit codes scripts rely on."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from notifier.orders.cli import app
from notifier.store.db import make_engine
from notifier.store.models import Merchant, Order

runner = CliRunner()

GOOD = (
    "order_id,customer_name,phone,carrier,courier,tracking_number\n"
    "1001,Rina,0812-3456-7890,binderbyte,jne,JP1234567890\n"
    "1002,Budi,0813-1111-2222,binderbyte,jne,JP1234567891\n"
)
BAD_ROW = GOOD + "1003,Sari,0812,binderbyte,jne,JP1234567892\n"


@pytest.fixture
def database(tmp_path, monkeypatch):
    """A SQLite store with the sample shop, named by NOTIFIER_DATABASE_URL as in production."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add(
            Merchant(
                slug="sekar",
                name="Toko Batik Sekar",
                created_at=datetime.now(UTC),
                api_token_hash=hashlib.sha256(b"tok").hexdigest(),
            )
        )
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", url)
    monkeypatch.setenv("NOTIFIER_LOG__LEVEL", "WARNING")
    yield engine
    engine.dispose()


def orders_in(engine) -> list[str]:
    with Session(engine) as session:
        return sorted(o.external_id for o in session.exec(select(Order)))


def test_a_clean_import_exits_0_with_the_summary(database, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["import", str(path), "--merchant", "sekar", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "orders created" in result.stdout and "│ 2 │" in result.stdout.replace("  ", "")
    assert orders_in(database) == ["1001", "1002"]


def test_rejected_rows_exit_1_and_are_listed_with_row_numbers(database, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(BAD_ROW, encoding="utf-8")
    result = runner.invoke(app, ["import", str(path), "--merchant", "sekar", "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "row 4: phone: '0812': too short" in result.stdout
    assert orders_in(database) == ["1001", "1002"]
    again = runner.invoke(app, ["import", str(path), "--merchant", "sekar"])  # with the bar
    assert again.exit_code == 1 and "orders unchanged" in again.stdout


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x00\x01\x02binary", "binary file"),
        (b"PK\x03\x04xlsx", "Excel workbook"),
        (None, "No such file"),
    ],
)
def test_a_file_that_cannot_be_read_exits_2_with_one_line(database, tmp_path, content, says):
    path = tmp_path / "orders.csv"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["import", str(path), "--merchant", "sekar", "--no-progress"])
    assert result.exit_code == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert orders_in(database) == []


def test_an_unknown_merchant_exits_2(database, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["import", str(path), "--merchant", "nobody"])
    assert result.exit_code == 2 and "no merchant 'nobody'" in result.stderr


def test_invalid_settings_exit_2_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", "mysql://shop")
    path = tmp_path / "orders.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["import", str(path), "--merchant", "sekar"])
    assert result.exit_code == 2 and "database_url" in result.stderr
