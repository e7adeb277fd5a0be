"""Fake platform servers: real HTTP on 127.0.0.1, one framework for all of them.

``server.py`` is the framework (``FakeServer``, ``Request``, ``Response``) and ``failures.py``
the one failure-injection type (``Failure``) every fake consults the same way. Each platform's
fake (``x``, ``mastodon``, ``bluesky``, ``wordpress``, ``micropub``) answers like the real
service where crosspost cares and checks what it is sent; ``sockets.py`` holds the servers that
misbehave below HTTP (a silent server, a proxy that drops kept-alive connections).
"""
