"""A local carrier tracking API with scripted parcel journeys, for the demo, tests and benchmarks.

* :mod:`~carriers.simulator.journeys`: the journeys, pure functions of (number, registration,
  now), and the tracking-number prefixes that choose them (``manifest``: places, people, words);
* :mod:`~carriers.simulator.app`: the API as a plain ASGI app (``registry``: pre-rendered answers,
  ``faults``: fault plans, ``webhooks``: push notifications, ``asgi``: plumbing);
* :mod:`~carriers.simulator.server`: ``serve_in_thread``, ``serve``, ``run`` under uvicorn, and
  ``python -m carriers.simulator``;
* :mod:`~carriers.simulator.adapter`: :class:`SimulatorAdapter`, the carrier module for the API.

Importing the package (or the adapter) does not import uvicorn; only ``server`` does.
"""
