"""Inbound adapters: the bridge from where a real app sends its MFA code to an event.

An app under test mails or texts its code; an adapter receives it (``smtp``: an SMTP inbox;
``sms``/``sms_app``: SMS webhooks of Twilio, Vonage or a generic HMAC-signed sender), finds the
code in the message (``pytest_anchor_mfa.codes``) and signals the event a waiting test is
blocked on (``signals``), routed by ``routes``.
"""
