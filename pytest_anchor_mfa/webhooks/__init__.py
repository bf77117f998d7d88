"""Anchor Browser webhooks: envelope models, signing and verification, a receiver, a sender.

Owns Anchor's webhooks: the models of every documented event type, the signature scheme
(``sign``/``verify``, a ``Deduplicator``), one-line summaries of events, the
``WebhookReceiver`` that tests point deliveries at and the ``WebhookSender`` that plays the
service offline.

Modules: ``models`` (event models, ``parse_event``), ``summaries`` (``build_text``),
``builders`` (``make_event``, ``example_data``), ``receiver`` (``WebhookReceiver``) and
``sender`` (``WebhookSender``, ``Delivery``, ``Attempt``); the signature scheme lives in
``pytest_anchor_mfa.signatures.anchor`` and its names import from here too. All but the
receiver and the sender are imported here; those two (which bring uvicorn and httpx) only on
first access to their names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ..signatures import anchor
from ..signatures.anchor import *  # noqa: F403  (signing and verifying; its __all__ is the list)
from . import models
from .builders import example_data, make_event
from .models import *  # noqa: F403  (every model; its __all__ is the list)
from .summaries import build_text

if TYPE_CHECKING:
    from .receiver import WebhookReceiver
    from .sender import Attempt, Delivery, WebhookSender

# Public name -> the module that defines it, imported on first access.
_LAZY = {
    "WebhookReceiver": ".receiver",
    "WebhookSender": ".sender",
    "Delivery": ".sender",
    "Attempt": ".sender",
}

__all__ = [
    "Attempt",
    "Delivery",
    "WebhookReceiver",
    "WebhookSender",
    "build_text",
    "example_data",
    "make_event",
]
__all__ += anchor.__all__
__all__ += models.__all__


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
