"""A local carrier tracking API with scripted parcel journeys, for the demo, tests and benchmarks.

* :mod:`carriers.simulator.journeys`: the journeys, pure functions of (number, registration, now);
* :mod:`carriers.simulator.server`: the ASGI application and the helpers that serve it;
* :mod:`carriers.simulator.adapter`: :class:`SimulatorAdapter`, the carrier module for it.
"""
