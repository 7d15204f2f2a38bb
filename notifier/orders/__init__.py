"""Order intake: the REST API, file imports and order-store sources all end in :func:`ingest`.

``schema`` (what an order looks like on the way in), ``contact`` (phones and emails),
``intake`` (storing an order and enqueueing what it deserves), ``importer`` (CSV / JSON Lines),
``base`` (the order-source plugin protocol), ``inbox`` (a folder of dropped files) and
``poller`` (the scheduler job that polls every merchant's sources).
"""
