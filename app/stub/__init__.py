"""The SOM/TOM stub: a separate process standing in for the external fulfilment systems.

It accepts TMF641 service orders on `/som/serviceOrder` and `/tom/serviceOrder` and calls
OrderHub back on its outboundresponse endpoint, first `pending` then `fulfilled` (or `error`),
for tests and demos. `orderhub stub` runs it; it needs no database or Redis.
"""
