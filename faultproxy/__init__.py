"""Gauntlet's fault proxy: a server that speaks the Toxiproxy 2.x HTTP API, and a typed client.

Its own package (top-level `faultproxy/`, imported as `gauntlet.faultproxy`), used by the stack
(which starts it) and by the drills (which inject faults through it); it depends on nothing of
Gauntlet but `gauntlet.base` (tests/unit/test_import_contracts.py). Not named `toxiproxy`: that
is the module of the `toxiproxy-python` client.

``python -m gauntlet.faultproxy`` (or ``gauntlet toxiproxy``) runs the server;
``gauntlet.faultproxy.client.ToxiproxyClient`` drives it, or a real
``toxiproxy-server``, over HTTP. Modules: ``model`` (API input validation, pure),
``api`` and ``http_server`` (the HTTP side), ``proxy``, ``connection``, ``link`` and
``toxics`` (the TCP data plane), ``metrics``, ``server`` (process entry).
"""
