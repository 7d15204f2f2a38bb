"""``notifier templates``: edit = export, change, import; import checks all before it writes any."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from notifier.cli import app
from notifier.store.db import make_engine
from notifier.store.models import Merchant, TemplateOverride

GOOD = (
    "Halo {{ customer.first_name }}, resi {{ shipment.tracking_number }}: "
    "{{ shipment.tracking_url }}\n"
)
BAD = (
    "Halo {{ customer.first_name }},\nresi {{ shipment.tracking_numbr }}: "
    "{{ shipment.tracking_url }}\n"
)


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s, s.begin():
        s.add(
            Merchant(
                slug="sekar",
                name="Toko Batik Sekar",
                api_token_hash=hashlib.sha256(b"t").hexdigest(),
                created_at=datetime.now(UTC),
            )
        )
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", url)
    monkeypatch.setenv("NOTIFIER_LOG__LEVEL", "ERROR")
    yield engine
    engine.dispose()


def _run(*args: str):
    return CliRunner().invoke(app, ["templates", *args])


def _versions(engine) -> list[tuple[str, int]]:
    with Session(engine) as s:
        return [
            (f"{r.trigger}/{r.channel}.{r.locale}", r.version)
            for r in s.exec(select(TemplateOverride))
        ]


def test_export_change_import(db, tmp_path):
    folder = tmp_path / "wording"
    done = _run("export", str(folder), "--merchant", "sekar")
    assert done.exit_code == 0 and "78 templates" in done.stdout
    (folder / "shipped" / "sms.id.j2").write_text(BAD)
    (folder / "delivered" / "sms.en.j2").write_text(GOOD)
    refused = _run("import", str(folder), "--merchant", "sekar")
    assert refused.exit_code == 1
    assert "shipped/sms.id.j2:2: unknown variable 'shipment.tracking_numbr'" in refused.stdout
    assert _versions(db) == []  # the good file was not written either

    (folder / "shipped" / "sms.id.j2").write_text(GOOD)
    done = _run("import", str(folder), "--merchant", "sekar", "--author", "rina")
    assert done.exit_code == 0, done.stdout
    assert sorted(_versions(db)) == [("delivered/sms.en", 1), ("shipped/sms.id", 1)]
    assert "2 new version(s), 76 unchanged" in done.stdout
    assert _run("import", str(folder), "--merchant", "sekar").stdout.startswith("0 new")

    shown = _run("show", "shipped", "sms", "id", "--merchant", "sekar")
    assert shown.stdout == GOOD
    preview = _run("preview", "shipped", "sms", "id", "--merchant", "sekar")
    assert preview.exit_code == 0 and "Halo Rina, resi JX3708794672" in preview.stdout
    assert "[1 segments, GSM-7" in preview.stdout
    listed = _run("list", "--merchant", "sekar")
    assert "v1" in listed.stdout


def test_validate_a_folder_and_unknown_files(db, tmp_path):
    (tmp_path / "t" / "shipped").mkdir(parents=True)
    (tmp_path / "t" / "shipped" / "sms.id.j2").write_text(GOOD)
    assert _run("validate", str(tmp_path / "t")).exit_code == 0
    (tmp_path / "t" / "shipped" / "fax.id.j2").write_text(GOOD)
    answer = _run("validate", str(tmp_path / "t"))
    assert (
        answer.exit_code == 1 and "shipped/fax.id.j2: no template shipped/fax.id" in answer.stdout
    )
    assert _run("show", "nope", "sms", "id").exit_code == 2
    assert _run("import", str(tmp_path / "t"), "--merchant", "ghost").exit_code == 2
