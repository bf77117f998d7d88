"""Benchmark of the fake event server: ``python -m bench`` (``--quick`` for a smoke run).

Not part of the test suite. It measures, against one loopback fake server running in its own
process (so its CPU and RSS are its own), the signal-to-wake latency, the release of many
concurrent waiters by one signal, the signal throughput of several clients, and, in-process,
the start+stop time of :class:`pytest_anchor_mfa.FakeEventServer`.
"""
