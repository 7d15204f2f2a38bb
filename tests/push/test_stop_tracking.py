"""Aggregators that bill per tracked number: registered on first sight, told to stop after a
final status (AfterShip mark-as-completed, 17TRACK stoptrack, TrackingMore delete), all over
httpx.MockTransport; ``stop_tracking`` never fails its caller."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from carriers import aftership, track17, trackingmore
from carriers.base import ErrorKind, Status
from carriers.errors import CarrierAuthError
from notifier.pipeline import finish, poll
from notifier.pipeline.record import Outcome
from tests.factories import parcel, result
from tests.push.conftest import aftership_push, post


def client(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


# ----------------------------------------------------------------------------- fake APIs


@dataclass
class FakeAfterShip:
    """Trackings by number: {"id", "tag", "completed": reason or None}."""

    trackings: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def _tracking(self, number: str) -> dict[str, Any]:
        t = self.trackings[number]
        return {"id": t["id"], "tracking_number": number, "slug": "fedex", "tag": t["tag"],
                "subtag": f"{t['tag']}_001", "checkpoints": []}  # fmt: skip

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/tracking/2025-04")
        self.calls.append((request.method, path))
        if request.method == "GET":
            wanted = request.url.params["tracking_numbers"].split(",")
            found = [self._tracking(n) for n in wanted if n in self.trackings]
            return httpx.Response(200, json={"meta": {"code": 200}, "data": {"trackings": found}})
        if path == "/trackings":
            number = json.loads(request.content)["tracking_number"]
            self.trackings[number] = {"id": f"as-{number}", "tag": "Pending", "completed": None}
            return httpx.Response(201, json={"meta": {"code": 201}, "data": self._tracking(number)})
        tracking_id = path.split("/")[2]
        number = next(n for n, t in self.trackings.items() if t["id"] == tracking_id)
        if self.trackings[number]["completed"]:
            body = {"meta": {"code": 4016, "message": "Tracking already completed."}, "data": {}}
            return httpx.Response(400, json=body)
        self.trackings[number]["completed"] = json.loads(request.content)["reason"]
        return httpx.Response(200, json={"meta": {"code": 200}, "data": self._tracking(number)})

    def adapter(self, **config: Any) -> aftership.Adapter:
        return aftership.Adapter({"api_key": "k", **config}, client=client(self))


@dataclass
class Fake17Track:
    registered: dict[str, str] = field(default_factory=dict)  # number -> main status
    stopped: set[str] = field(default_factory=set)
    calls: list[tuple[str, list[str]]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        action = request.url.path.rsplit("/", 1)[-1]
        numbers = [i["number"] for i in json.loads(request.content)]
        self.calls.append((action, numbers))
        known = [n for n in numbers if n in self.registered]
        unknown = [n for n in numbers if n not in self.registered]
        if action == "register":
            self.registered.update({n: "NotFound" for n in unknown})
            return self._answer([{"number": n} for n in unknown], [])
        if action == "stoptrack":
            self.stopped.update(known)
            return self._answer([{"number": n, "carrier": 7041} for n in known], unknown)
        infos = [{"number": n, "carrier": 7041, "track_info": {"latest_status":
                  {"status": self.registered[n]}}} for n in known]  # fmt: skip
        return self._answer(infos, unknown)

    @staticmethod
    def _answer(accepted: list[Any], unregistered: list[str]) -> httpx.Response:
        rejected = [{"number": n, "error": {"code": -18019902, "message": "register first"}}
                    for n in unregistered]  # fmt: skip
        data = {"accepted": accepted, "rejected": rejected}
        return httpx.Response(200, json={"code": 0, "data": data})

    def adapter(self) -> track17.Adapter:
        return track17.Adapter({"api_key": "k", "rate": 1000}, client=client(self))


@dataclass
class FakeTrackingMore:
    trackings: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v4")
        self.calls.append((request.method, path))
        ok = {"code": 200, "message": "Request response is successful"}
        if request.method == "GET":
            wanted = request.url.params["tracking_numbers"].split(",")
            data = [self.trackings[n] for n in wanted if n in self.trackings]
            return httpx.Response(200, json={"meta": ok, "data": data})
        if request.method == "POST":
            made = []
            for item in json.loads(request.content):
                number = item["tracking_number"]
                self.trackings[number] = {"id": f"tm-{number}", "tracking_number": number,
                                          "courier_code": item["courier_code"],
                                          "delivery_status": "pending"}  # fmt: skip
                made.append({"tracking_number": number})
            return httpx.Response(200, json={"meta": ok, "data": {"success": made, "error": []}})
        tracking_id = path.rsplit("/", 1)[-1]
        gone = next(t for t in self.trackings.values() if t["id"] == tracking_id)
        del self.trackings[gone["tracking_number"]]
        data = {"id": tracking_id, "tracking_number": gone["tracking_number"]}
        return httpx.Response(200, json={"meta": ok, "data": data})

    def adapter(self) -> trackingmore.Adapter:
        return trackingmore.Adapter({"api_key": "k"}, client=client(self))


# ----------------------------------------------------------------------------- lifecycles


async def test_aftership_registers_once_then_marks_completed_after_delivery() -> None:
    api = FakeAfterShip()
    adapter = api.adapter()
    (first,) = await adapter.fetch(["NEW1"], courier="fedex")
    assert first.status is Status.PENDING and "NEW1" in api.trackings
    await adapter.fetch(["NEW1"], courier="fedex")
    assert [c for c in api.calls if c[0] == "POST"] == [("POST", "/trackings")]  # once

    api.trackings["NEW1"]["tag"] = "Delivered"
    (done,) = await adapter.fetch(["NEW1"])
    assert done.status is Status.DELIVERED
    assert await adapter.stop(["NEW1"], "fedex") == {"NEW1": None}
    assert api.trackings["NEW1"]["completed"] == "DELIVERED"
    assert api.calls[-1] == ("POST", "/trackings/as-NEW1/mark-as-completed")


async def test_aftership_stop_reasons_unknown_numbers_and_refusals() -> None:
    api = FakeAfterShip(
        {
            "RET": {"id": "a1", "tag": "Exception", "completed": None},
            "LATE": {"id": "a2", "tag": "InTransit", "completed": None},
            "GONE": {"id": "a3", "tag": "Expired", "completed": None},
            "TWICE": {"id": "a4", "tag": "Delivered", "completed": "DELIVERED"},
        }
    )
    api.trackings["RET"]["tag"] = "Exception"
    adapter = api.adapter()
    answers = await adapter.stop(["RET", "LATE", "GONE", "NOBODY", "TWICE"])
    assert answers["LATE"] is None and api.trackings["LATE"]["completed"] == "LOST"
    assert api.trackings["RET"]["completed"] == "LOST"  # Exception_001 is not a return
    assert answers["GONE"] is None and api.trackings["GONE"]["completed"] is None  # expired
    assert answers["NOBODY"] is None  # not tracked there: nothing to stop
    refused = answers["TWICE"]
    assert refused is not None and refused.kind is ErrorKind.BAD_REQUEST
    posts = [path for method, path in api.calls if method == "POST"]
    assert posts == ["/trackings/a1/mark-as-completed", "/trackings/a2/mark-as-completed",
                     "/trackings/a4/mark-as-completed"]  # fmt: skip


async def test_aftership_returned_shipment_is_completed_as_returned() -> None:
    api = FakeAfterShip({"R1": {"id": "r1", "tag": "Exception", "completed": None}})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            t = {"id": "r1", "tracking_number": "R1", "tag": "Exception", "subtag": "Exception_011"}
            return httpx.Response(200, json={"meta": {"code": 200}, "data": {"trackings": [t]}})
        return api(request)

    assert await aftership.Adapter({"api_key": "k"}, client=client(handler)).stop(["R1"]) == {
        "R1": None
    }
    assert api.trackings["R1"]["completed"] == "RETURNED_TO_SENDER"


async def test_aftership_stop_with_bad_key_raises_for_the_caller_to_contain() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"meta": {"code": 401, "message": "Invalid API key."}})

    with pytest.raises(CarrierAuthError):
        await aftership.Adapter({"api_key": "bad"}, client=client(handler)).stop(["A"])


async def test_17track_registers_once_then_stops_tracking() -> None:
    api = Fake17Track()
    adapter = api.adapter()
    await adapter.fetch(["RR1"])
    await adapter.fetch(["RR1"])
    assert [a for a, _ in api.calls].count("register") == 1
    api.registered["RR1"] = "Delivered"
    (done,) = await adapter.fetch(["RR1"])
    assert done.status is Status.DELIVERED
    assert await adapter.stop(["RR1", "NEVER"]) == {"RR1": None, "NEVER": None}
    assert api.stopped == {"RR1"} and api.calls[-1] == ("stoptrack", ["RR1", "NEVER"])


async def test_17track_stop_reports_a_refusal_and_a_whole_request_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        rejected = [{"number": "X1", "error": {"code": -18019904, "message": "no"}}]
        return httpx.Response(200, json={"code": 0, "data": {"accepted": [], "rejected": rejected}})

    (error,) = (
        await track17.Adapter({"api_key": "k"}, client=client(handler)).stop(["X1"])
    ).values()
    assert error is not None and error.code == "-18019904"

    def refused(request: httpx.Request) -> httpx.Response:
        errors = [{"code": -18010002, "message": "invalid security key"}]
        return httpx.Response(200, json={"code": -18010002, "data": {"errors": errors}})

    answers = await track17.Adapter({"api_key": "k"}, client=client(refused)).stop(["A", "B"])
    assert all(e is not None and e.kind is ErrorKind.AUTH for e in answers.values())


async def test_trackingmore_registers_once_then_deletes() -> None:
    api = FakeTrackingMore()
    adapter = api.adapter()
    await adapter.fetch(["TM1"], courier="jne")
    await adapter.fetch(["TM1"], courier="jne")
    assert [c for c in api.calls if c[0] == "POST"] == [("POST", "/trackings/batch")]
    assert await adapter.stop(["TM1", "NEVER"], "jne") == {"TM1": None, "NEVER": None}
    assert api.trackings == {} and ("DELETE", "/trackings/delete/tm-TM1") in api.calls


# ----------------------------------------------------------------------------- stop_tracking


@dataclass
class Parcel:
    carrier: str
    tracking_number: str
    courier: str = ""


async def test_stop_tracking_groups_batches_and_skips_carriers_without_stop(rt) -> None:
    api17, as_api = (
        Fake17Track(),
        FakeAfterShip({"A1": {"id": "x", "tag": "Delivered", "completed": None}}),
    )
    api17.registered.update({f"RR{i:03d}": "Delivered" for i in range(45)})
    rt.carriers.install("17track", api17.adapter())
    rt.carriers.install("aftership", as_api.adapter())
    items = [Parcel("17track", f"RR{i:03d}") for i in range(45)]
    items += [Parcel("aftership", "A1", "fedex"), Parcel("scripted", "S1")]
    stopped = await finish.stop_tracking(rt, items)
    assert stopped == 46
    assert [len(n) for a, n in api17.calls if a == "stoptrack"] == [40, 5]  # batch_size 40
    assert as_api.trackings["A1"]["completed"] == "DELIVERED"


async def test_stop_tracking_never_fails_and_counts(rt) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    def metric(carrier: str, outcome: str) -> float:
        return finish.STOPS.labels(carrier, outcome)._value.get()

    failed = metric("aftership", "failed")
    rt.carriers.install("aftership", aftership.Adapter({"api_key": "k"}, client=client(down)))

    class Broken:
        batch_size = 1

        async def stop(self, numbers: Any, courier: Any) -> Any:
            raise RuntimeError("adapter bug")

        async def aclose(self) -> None:
            pass

    rt.carriers.install("trackingmore", Broken())  # type: ignore[arg-type]
    items = [Parcel("aftership", "A1"), Parcel("trackingmore", "T1"), Parcel("nosuch", "N1")]
    assert await finish.stop_tracking(rt, items) == 0
    assert metric("aftership", "failed") == failed + 1
    assert metric("trackingmore", "failed") >= 1


async def test_newly_final_picks_shipments_that_just_reached_a_final_status(rt, merchant) -> None:
    moving = parcel(rt, merchant, number="M1")
    arriving = parcel(rt, merchant, number="M2")
    old = parcel(rt, merchant, number="M3", status="delivered")
    broken = parcel(rt, merchant, number="M4")
    chunk = poll.lease_due(rt, rt.clock.now(), 10)
    outcomes = {
        moving.id: Outcome(result=result("M1", Status.IN_TRANSIT)),
        arriving.id: Outcome(result=result("M2", Status.DELIVERED)),
        old.id: Outcome(result=result("M3", Status.DELIVERED)),
        broken.id: Outcome(error="carrier down"),
    }
    assert [s.tracking_number for s in finish.newly_final(chunk, outcomes)] == ["M2"]


async def test_a_delivered_push_stops_aftership_tracking(hooks_rt, client, merchant) -> None:
    api = FakeAfterShip({"111111111111": {"id": "as-1", "tag": "Delivered", "completed": None}})
    hooks_rt.carriers.install("aftership", api.adapter())
    parcel(hooks_rt, merchant, number="111111111111", carrier="aftership")
    assert (await post(client, "aftership", aftership_push())).status_code == 200
    assert api.trackings["111111111111"]["completed"] == "DELIVERED"
    calls = len(api.calls)
    assert (await post(client, "aftership", aftership_push())).status_code == 200
    assert len(api.calls) == calls  # already final: not stopped twice
