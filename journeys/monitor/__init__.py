"""The every-minute synthetic monitor: runs the journeys and health probes on a schedule,
keeps history, decides green / yellow / red with flap suppression, alerts a webhook,
and publishes a status page and Prometheus metrics.

Pure parts (schedule, status, stats, page, metrics, alert payloads) take plain data and
return plain data; the loop (runner.py) wires them to the collaborators it is given as
Protocols (journey runner, health prober, alert sink, clock), so all the deciding logic
is unit-tested with recording fakes and no browser.
"""
