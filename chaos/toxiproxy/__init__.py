"""Gauntlet's fault proxy: a server that speaks the Toxiproxy 2.x HTTP API, and a typed client.

``python -m gauntlet.chaos.toxiproxy`` (or ``gauntlet toxiproxy``) runs the server;
``gauntlet.chaos.toxiproxy.client.ToxiproxyClient`` drives it, or a real
``toxiproxy-server``, over HTTP. Modules: ``model`` (API input validation, pure),
``api`` and ``http_server`` (the HTTP side), ``proxy``, ``connection``, ``link`` and
``toxics`` (the TCP data plane), ``metrics``, ``server`` (process entry).
"""
