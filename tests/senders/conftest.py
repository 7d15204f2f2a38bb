"""Stand-ins for the sender tests, each started once per test module; every request they get
and every answer they give is checked against the vendors' OpenAPI files, and a test fails
(at teardown) when anything did not match."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from notifier.testing_providers import SendgridStandIn, Served, TwilioStandIn, serve
from tests.senders import smtpd
from tests.senders.specs import (
    SENDGRID_SERVER,
    SENDGRID_SPEC,
    TWILIO_SERVER,
    TWILIO_SPEC,
    request_checker,
    response_checker,
    twilio_rules,
)


@pytest.fixture(scope="module")
def sendgrid_server() -> Iterator[Served[SendgridStandIn]]:
    app = SendgridStandIn()
    app.check_request = request_checker(SENDGRID_SPEC, SENDGRID_SERVER)
    app.check_response = response_checker(SENDGRID_SPEC, SENDGRID_SERVER)
    with serve(app) as served:
        yield served


@pytest.fixture(scope="module")
def twilio_server() -> Iterator[Served[TwilioStandIn]]:
    app = TwilioStandIn()
    app.check_request = request_checker(TWILIO_SPEC, TWILIO_SERVER, twilio_rules)
    app.check_response = response_checker(TWILIO_SPEC, TWILIO_SERVER)
    with serve(app) as served:
        yield served


@pytest.fixture
def sendgrid(sendgrid_server: Served[SendgridStandIn]) -> Iterator[Served[SendgridStandIn]]:
    """The module's SendGrid stand-in, emptied; fails the test if a request broke the spec."""
    sendgrid_server.app.reset()
    yield sendgrid_server
    assert sendgrid_server.app.violations == []


@pytest.fixture
def twilio(twilio_server: Served[TwilioStandIn]) -> Iterator[Served[TwilioStandIn]]:
    """The module's Twilio stand-in, emptied; fails the test if a request broke the spec."""
    app = twilio_server.app
    app.reset()
    yield twilio_server
    assert app.violations == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return smtpd.make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Controller, smtpd.Inbox]]:
    """aiosmtpd with STARTTLS required and AUTH over TLS."""
    inbox = smtpd.Inbox()
    controller = smtpd.start(inbox, cert=certificate)
    yield controller, inbox
    controller.stop()


@pytest.fixture
def smtp(smtp_server: tuple[Controller, smtpd.Inbox]) -> tuple[Controller, smtpd.Inbox]:
    smtp_server[1].reset()
    return smtp_server
