"""Logs never hold secrets or whole phone numbers and email addresses."""

from __future__ import annotations

import json
import logging

import structlog

from notifier import logs


def test_mask_phone_and_email() -> None:
    assert logs.mask("+6281234567890") == "+62812****7890"
    assert logs.mask("to rina.w@example.co.id now") == "to r***@example.co.id now"
    assert logs.mask("no contact here") == "no contact here"


def test_log_lines_are_scrubbed(capsys) -> None:
    logs.configure("INFO", "json")
    log = structlog.get_logger("test")
    log.info(
        "sent",
        to="+6281234567890",
        api_key="sk-live-123",
        auth_token="t0k",
        note="reply to budi@example.com",
        merchant_id=7,
    )
    logging.getLogger().handlers[0].flush()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["to"] == "+62812****7890"
    assert line["api_key"] == "**********" and line["auth_token"] == "**********"
    assert line["note"] == "reply to b***@example.com"
    assert line["merchant_id"] == 7
    structlog.reset_defaults()
