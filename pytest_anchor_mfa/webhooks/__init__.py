"""Anchor Browser webhooks: envelope models, signing and verification, a receiver, a sender.

Owns ``shared/spec/webhooks.md``: the models of every documented event type, the signature
scheme (``sign``/``verify``, a ``Deduplicator``), one-line summaries of events, the
``WebhookReceiver`` that tests point deliveries at and the ``WebhookSender`` that plays the
service offline.
"""
