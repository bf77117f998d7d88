"""The in-process runtime of our servers: ASGI helpers, connection limits, background serving.

``asgi`` (bodies, headers, the error envelope), ``limits`` (uvicorn's HTTP protocol with the
bounds a long run needs), ``serve`` (a server on a loopback port from a background thread).
Nothing here knows the events API, webhooks or MFA codes.
"""
