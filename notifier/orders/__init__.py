"""Order intake: the REST API, file imports and order-store sources all end in :func:`ingest`.

``schema`` (an order on the way in), ``contact`` (phones and emails), ``intake`` (storing an
order and enqueueing what it deserves), ``parcels`` (its parcels: carrier, polling, the
``shipped`` news), ``rows`` (insert-if-new and update-what-differs), ``views`` (an order read
back for the API), ``reader`` (CSV / JSON Lines files), ``importer`` and ``cli`` (``notifier
orders import``), ``base`` (the order-source plugin protocol), ``inbox`` (a folder of dropped
files) and ``poller`` (the scheduler job that polls every merchant's sources).
"""
