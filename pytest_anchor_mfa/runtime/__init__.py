"""The in-process runtime of our servers: one loop thread, background serving, and their helpers.

``loop`` (one asyncio loop per process, in one daemon thread, started on first use: every
server the plugin starts runs on it), ``serve`` (``BackgroundServer``: a server on a loopback
port, bound before it starts, on that loop; ``AsgiServer`` for uvicorn and ``ProtocolServer``
for a plain asyncio protocol), ``asgi`` (bodies, headers, the error envelope), ``limits``
(uvicorn's HTTP protocol with the bounds a long run needs), ``recorder`` (record, reset and
wait with a deadline: what the test-facing handles keep), ``throttle`` (a repeated log line once
a minute, with a count). Nothing here knows the events API, webhooks or MFA codes.
"""
