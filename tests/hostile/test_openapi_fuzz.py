"""Schemathesis against the app's own OpenAPI document (the REST API and the webhooks), in
process over ASGI, as a shop holding a real bearer token: no request may end in a server error.

Every operation of ``/api/openapi.json`` is fuzzed twice: with data that fits the schema
(positive) and with data that breaks it (negative: wrong types, missing fields, values out of
range). Operations whose path names templates, shipments or messages are fuzzed a third time
with real names and ids in the path, so the bodies reach the template engine and the stores
instead of stopping at a 404. A server error is any 5xx or any exception that escapes the app
(in production both are a 500).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from notifier.web.app import create_app
from tests.hostile import figures
from tests.hostile import world as w

EXAMPLES = 15  # per operation and mode (deeper runs: raise it; 100 found nothing more)
AUTH = {"Authorization": f"Bearer {w.TOKEN}"}


def _operations() -> list[tuple[str, str]]:
    doc = create_app(None).openapi()  # type: ignore[arg-type]  # the document needs no runtime
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[w.World]:
    built = w.build(tmp_path_factory.mktemp("fuzz"))
    yield built
    built.engine.dispose()


@pytest.fixture(scope="module")
def schema(world: w.World) -> Any:
    return schemathesis.openapi.from_asgi("/api/openapi.json", create_app(world.rt))


def _known(world: w.World, path: str) -> dict[str, Any] | None:
    """Real values for the path's parameters (None: the path has none worth filling)."""
    values = {
        "trigger": "shipped",
        "channel": "sms",
        "locale": "id",
        "shipment_id": world.shipment_id,
        "notification_id": world.notification_id,
        "external_id": "o-JX0001",
        "version_id": 1,
        "recipient_id": 1,
        "carrier": "aftership",
        "source": "shopify",
        "merchant": world.merchant.slug,
        "token": w.CARRIER_SECRETS["shippo"],
    }
    names = [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]
    if not names:
        return None
    return {name: values[name] for name in names}


def _fuzz(operation: Any, mode: GenerationMode, label: str, **fixed: Any) -> list[str]:
    """Run one operation in one mode; the server errors seen, described."""
    errors: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode, **fixed))
    def run(case: Any) -> None:
        figures.add("schemathesis requests")
        try:
            response = case.call(headers=AUTH)
        except Exception as err:  # escaped the app: a 500 in production
            errors.append(f"{label} {mode.value}: {type(err).__name__}: {err} <- {_case(case)}")
            return
        if response.status_code >= 500:
            errors.append(f"{label} {mode.value}: {response.status_code} <- {_case(case)}")

    with contextlib.suppress(Unsatisfiable):  # nothing to break: no parameters, no body
        run()
    figures.add("schemathesis server errors", len(errors))
    return errors


def _case(case: Any) -> str:
    return f"path={case.path_parameters} query={case.query} body={str(case.body)[:200]}"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_input_makes_a_server_error(world, schema, method, path) -> None:
    operation = schema[path][method]
    label = f"{method} {path}"
    errors = _fuzz(operation, GenerationMode.POSITIVE, label)
    errors += _fuzz(operation, GenerationMode.NEGATIVE, label)
    known = _known(world, path)
    if known is not None:
        errors += _fuzz(operation, GenerationMode.POSITIVE, label, path_parameters=known)
    assert not errors, "\n".join(errors[:10])


def test_the_document_covers_the_api_and_the_webhooks() -> None:
    paths = {p for _, p in OPERATIONS}
    assert {"/api/v1/orders", "/api/v1/settings", "/webhooks/twilio/status"} <= paths
    assert any(p.startswith("/webhooks/carriers/") for p in paths)
    assert any(p.startswith("/webhooks/orders/") for p in paths)
    assert len(OPERATIONS) >= 25
