"""Event models, parsing, one-line summaries and envelope building (``webhooks``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_anchor_mfa.errors import InvalidArgumentError, WebhookVerificationError
from pytest_anchor_mfa.webhooks.builders import example_data, make_event
from pytest_anchor_mfa.webhooks.models import (
    CATALOG,
    EVENT_MODELS,
    BatchCompleted,
    GenericWebhookEvent,
    IdentityAuthenticationFailed,
    SessionCompleted,
    TaskCompleted,
    TaskFailed,
    WebhookEvent,
    parse_event,
)
from pytest_anchor_mfa.webhooks.summaries import build_text

EXPECTED_CLASSES = {
    "task.completed": "TaskCompleted",
    "task.failed": "TaskFailed",
    "task.cancelled": "TaskCancelled",
    "task.healed": "TaskHealed",
    "session.completed": "SessionCompleted",
    "session.failed": "SessionFailed",
    "session.recording.ready": "SessionRecordingReady",
    "intervention.requested": "InterventionRequested",
    "intervention.resolved": "InterventionResolved",
    "batch.completed": "BatchCompleted",
    "batch.failed": "BatchFailed",
    "identity.authenticated": "IdentityAuthenticated",
    "identity.authentication_failed": "IdentityAuthenticationFailed",
}


def invalid(raw: Any) -> str:
    with pytest.raises(WebhookVerificationError) as info:
        parse_event(raw)
    assert info.value.reason == "invalid_payload"
    return str(info.value)


def test_the_catalog_is_the_contracts() -> None:
    assert set(CATALOG) == set(EXPECTED_CLASSES)


@pytest.mark.parametrize("event_type", sorted(EXPECTED_CLASSES))
def test_every_catalog_type_parses_into_its_model(event_type: str) -> None:
    envelope = make_event(event_type, example_data(event_type), project_id="proj_1")
    for raw in (json.dumps(envelope).encode(), json.dumps(envelope), envelope):
        event = parse_event(raw)
        assert type(event).__name__ == EXPECTED_CLASSES[event_type]
        assert type(event) is EVENT_MODELS[event_type]
        assert isinstance(event, WebhookEvent)
        assert event.id == envelope["id"] and event.type == event_type
        assert event.project_id == "proj_1"
        assert isinstance(event.created, datetime)
        assert event.text == build_text(event_type, envelope["data"])
        dumped = event.data.model_dump(exclude_unset=True)
        assert json.loads(json.dumps(dumped)) == envelope["data"]


def test_typed_data_fields() -> None:
    event = parse_event(make_event("task.completed", example_data("task.completed")))
    assert isinstance(event, TaskCompleted)
    assert event.data.task_id == "task_123" and event.data.duration_ms == 12345
    assert event.data.cost.amount == 0.05 and event.data.cost.currency == "USD"
    assert event.data.artifacts[0].content_type == "application/pdf"
    assert event.data.output.value == {"title": "Example Domain"}

    failed = parse_event(make_event("task.failed", example_data("task.failed")))
    assert isinstance(failed, TaskFailed)
    assert failed.data.error.type == "automation_failure" and failed.data.recording_url is None

    batch = parse_event(make_event("batch.completed", example_data("batch.completed")))
    assert isinstance(batch, BatchCompleted) and batch.data.completed_requests == 3


def test_optional_fields_may_be_missing() -> None:
    data = example_data("task.completed")
    for optional in ("recording_url", "session_dashboard_url", "artifacts"):
        del data[optional]
    data["artifacts"] = [{"name": "a.txt", "url": "https://x/a.txt"}]
    event = parse_event(make_event("task.completed", data))
    assert isinstance(event, TaskCompleted) and event.data.artifacts[0].size is None

    minimal = parse_event(make_event("session.failed", {"session_id": "s"}))
    assert minimal.data.session_id == "s"
    healed = parse_event(make_event("task.healed", {"healed_task_version_id": "v2"}))
    assert healed.data.healed_task_version_id == "v2"


def test_unknown_fields_are_kept_everywhere() -> None:
    data = example_data("session.completed") | {"screenshots": ["s1.png"], "new_metric": 7}
    envelope = make_event("session.completed", data, api_version="2025-01", livemode=False)
    event = parse_event(envelope)
    assert isinstance(event, SessionCompleted)
    assert event.model_extra == {"api_version": "2025-01", "livemode": False}
    assert event.data.model_extra == {"new_metric": 7}
    assert event.data.screenshots == ["s1.png"]
    nested = example_data("task.completed")
    nested["cost"]["tax"] = 0.01
    assert parse_event(make_event("task.completed", nested)).data.cost.model_extra == {"tax": 0.01}


def test_unknown_types_parse_as_generic_events() -> None:
    event = parse_event(make_event("profile.updated", {"profile_id": "p1", "n": [1, 2]}))
    assert type(event) is GenericWebhookEvent
    assert event.type == "profile.updated" and event.data == {"profile_id": "p1", "n": [1, 2]}


def test_only_id_type_and_data_are_required_in_the_envelope() -> None:
    event = parse_event({"id": "evt_1", "type": "session.failed", "data": {"session_id": "s"}})
    assert event.created is None and event.project_id is None and event.text is None


@pytest.mark.parametrize("field", ["id", "type", "data"])
def test_a_delivery_missing_id_type_or_data_is_refused(field: str) -> None:
    envelope = make_event("task.healed", {"healed_task_version_id": "v2"})
    del envelope[field]
    message = invalid(json.dumps(envelope))
    assert f"missing required field {field!r}" in message


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"id": ""}, "'id' must be a non-empty string"),
        ({"id": 42}, "'id' must be a non-empty string"),
        ({"type": None}, "'type' must be a non-empty string"),
        ({"data": [1]}, "'data' must be a JSON object, got list"),
        ({"data": None}, "'data' must be a JSON object, got NoneType"),
        ({"created": "yesterday"}, "created"),
        ({"data": {"healed_task_version_id": 7}}, "data.healed_task_version_id"),
        ({"data": {}}, "data.healed_task_version_id: Field required"),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], fragment: str) -> None:
    envelope = make_event("task.healed", {"healed_task_version_id": "v2"}) | change
    assert fragment in invalid(envelope)


def test_batch_status_must_match_the_event_type() -> None:
    batch = example_data("batch.completed") | {"status": "failed"}
    assert "data.status" in invalid(make_event("batch.completed", batch))


def test_values_added_to_documented_enumerations_later_are_accepted() -> None:
    failed = example_data("task.failed")
    failed["error"]["type"] = "quota_exceeded"
    event = parse_event(make_event("task.failed", failed))
    assert isinstance(event, TaskFailed) and event.data.error.type == "quota_exceeded"
    new = parse_event(make_event("identity.authentication_failed", {"failure_type": "mfa_timeout"}))
    assert isinstance(new, IdentityAuthenticationFailed) and new.data.failure_type == "mfa_timeout"
    for known in ("invalid_credentials", "automation_failure"):
        ok = parse_event(make_event("identity.authentication_failed", {"failure_type": known}))
        assert isinstance(ok, IdentityAuthenticationFailed)
    missing = invalid(make_event("identity.authentication_failed", {}))
    assert "data.failure_type" in missing


def test_task_completed_requires_its_results() -> None:
    data = example_data("task.completed")
    del data["cost"]
    assert "data.cost: Field required" in invalid(make_event("task.completed", data))
    # A failed or cancelled execution may have no output.
    assert "output" not in example_data("task.cancelled")
    parse_event(make_event("task.cancelled", example_data("task.cancelled")))


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"n": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"[]", "JSON object, got list"),
        (b'"text"', "JSON object, got str"),
        (b"null", "JSON object, got NoneType"),
    ],
)
def test_bodies_that_are_not_objects_are_refused(raw: bytes, fragment: str) -> None:
    assert fragment in invalid(raw)


def test_many_errors_are_summarised_on_one_line() -> None:
    message = invalid(make_event("batch.completed", {"status": "completed"}))
    assert "data.batch_id: Field required (and 3 more)" in message and "\n" not in message


# -- text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EXPECTED_CLASSES))
def test_build_text_is_one_informative_line(event_type: str) -> None:
    data = example_data(event_type)
    text = build_text(event_type, data)
    assert text and "\n" not in text and len(text) <= 300
    ids = [value for key, value in data.items() if key.endswith("_id") and key != "application_id"]
    assert any(str(value) in text for value in ids), text


def test_build_text_examples() -> None:
    assert build_text("task.completed", example_data("task.completed")) == (
        "Task task_123 completed in 12.3 s - execution exec_456 - cost 0.05 USD"
    )
    assert build_text("task.failed", example_data("task.failed")).startswith(
        "Task task_123 failed (automation_failure: login button not found)"
    )
    assert build_text("batch.failed", example_data("batch.failed")) == (
        "Batch batch_1 failed: 0/4 succeeded, 4 failed"
    )
    assert "https://live.anchorbrowser.io/sess_789" in build_text(
        "intervention.requested", example_data("intervention.requested")
    )


def test_build_text_survives_missing_and_hostile_values() -> None:
    assert build_text("task.completed", {}) == "Task ? completed"
    assert build_text("batch.completed", {"batch_id": "b"}) == "Batch b completed: no counts"
    hostile = {"task_id": "line1\nline2\r\u2028\x00end", "duration_ms": "soon"}
    assert build_text("task.failed", hostile) == "Task line1 line2 end failed"
    assert len(build_text("session.failed", {"session_id": "x" * 10_000})) <= 300


def test_build_text_falls_back_for_unknown_types() -> None:
    text = build_text("profile.updated", {"profile_id": "p1", "note": "hi", "owner_id": 3})
    assert text == "profile.updated event (profile_id=p1, owner_id=3)"
    assert build_text("x.y", {}) == "x.y event"
    assert build_text("", {}) == "Unknown event"


# -- make_event ----------------------------------------------------------------------------------


def test_make_event_builds_a_well_formed_envelope() -> None:
    data = example_data("task.healed")
    envelope = make_event("task.healed", data)
    assert re.fullmatch(r"evt_[0-9a-f]{32}", envelope["id"])
    assert set(envelope) == {"id", "type", "created", "project_id", "text", "data"}
    created = datetime.fromisoformat(envelope["created"])
    assert created.tzinfo is not None and abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert envelope["text"] == build_text("task.healed", data)
    assert envelope["data"] == data and envelope["data"] is not data
    assert make_event("task.healed", data)["id"] != envelope["id"]


def test_make_event_overrides() -> None:
    when = datetime(2024, 5, 24, 10, 28, 4, tzinfo=UTC)
    envelope = make_event(
        "x.y", {}, id="evt_fixed", created=when, project_id="p", text="custom", extra=1
    )
    assert envelope == {
        "id": "evt_fixed",
        "type": "x.y",
        "created": "2024-05-24T10:28:04+00:00",
        "project_id": "p",
        "text": "custom",
        "data": {},
        "extra": 1,
    }


def test_example_data_is_a_fresh_copy_and_refuses_unknown_types() -> None:
    first = example_data("task.completed")
    first["cost"]["amount"] = 99
    assert example_data("task.completed")["cost"]["amount"] == 0.05
    with pytest.raises(InvalidArgumentError, match="known types"):
        example_data("nope.nope")


# -- properties ----------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(
    [
        "task_id",
        "session_id",
        "duration_ms",
        "cost",
        "output",
        "artifacts",
        "error",
        "status",
        "failure_type",
        "batch_id",
        "live_view_url",
        "healed_task_version_id",
        "steps",
        "domains",
    ]
)


@st.composite
def envelopes(draw: st.DrawFn) -> Any:
    """Envelope-shaped values: known and unknown types, fields present, absent or of any type."""
    event_type = draw(st.sampled_from(CATALOG) | st.text(max_size=12) | JSON)
    data = draw(
        st.dictionaries(FIELD_NAMES, JSON)
        | st.sampled_from([example_data(name) for name in CATALOG])
        | JSON
    )
    envelope: dict[str, Any] = {"id": draw(st.text(max_size=5) | JSON), "type": event_type}
    envelope["data"] = data
    for key in draw(st.sets(st.sampled_from(["id", "type", "data"]))):
        del envelope[key]
    if draw(st.booleans()):
        envelope["created"] = draw(JSON | st.datetimes().map(datetime.isoformat))
    return envelope


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200) | JSON.map(json.dumps) | envelopes())
def test_parse_event_raises_only_verification_errors(raw: Any) -> None:
    try:
        event = parse_event(raw)
    except WebhookVerificationError as exc:
        assert exc.reason == "invalid_payload" and "\n" not in str(exc)
    else:
        assert isinstance(event, WebhookEvent) and event.id and event.type


@settings(max_examples=200, deadline=None)
@given(event_type=st.sampled_from(CATALOG) | st.text(max_size=30), data=JSON)
def test_build_text_is_always_one_bounded_line(event_type: str, data: Any) -> None:
    text = build_text(event_type, data)
    assert text and len(text) <= 300 and text == " ".join(text.split())
    assert all(c.isprintable() for c in text)


@settings(max_examples=100, deadline=None)
@given(
    event_type=st.sampled_from(CATALOG),
    extra=st.dictionaries(st.text(min_size=1, max_size=8).map(lambda k: f"x_{k}"), JSON),
)
def test_extra_data_fields_round_trip(event_type: str, extra: dict[str, Any]) -> None:
    data = example_data(event_type) | extra
    event = parse_event(json.dumps(make_event(event_type, data)))
    kept = event.data.model_extra or {}
    assert {key: kept.get(key) for key in extra} == extra


# -- the package's names -------------------------------------------------------------------------


def test_every_public_name_is_importable_from_the_package() -> None:
    import pytest_anchor_mfa.webhooks as webhooks
    from pytest_anchor_mfa.signatures import anchor
    from pytest_anchor_mfa.webhooks import builders, models, receiver, sender, summaries

    for name in webhooks.__all__:
        assert getattr(webhooks, name) is not None, name
    for module in (models, summaries, builders):
        for name in module.__all__:
            assert getattr(webhooks, name) is getattr(module, name), (module.__name__, name)
    # The signature scheme's names (it was the webhooks' ``signing`` module), all but its
    # Verifier class, which is used with the other verifiers from ``signatures``.
    for name in set(anchor.__all__) - {"AnchorVerifier"}:
        assert name in webhooks.__all__ and getattr(webhooks, name) is getattr(anchor, name), name
    assert webhooks.WebhookReceiver is receiver.WebhookReceiver
    assert webhooks.WebhookSender is sender.WebhookSender
    assert (webhooks.Delivery, webhooks.Attempt) == (sender.Delivery, sender.Attempt)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        webhooks.Nope  # noqa: B018


def test_importing_the_package_does_not_load_the_receiver_or_the_sender() -> None:
    code = (
        "import sys\n"
        "from pytest_anchor_mfa.webhooks import sign, verify, parse_event, make_event\n"
        "heavy = {'uvicorn', 'httpx', 'starlette'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "from pytest_anchor_mfa.webhooks import WebhookReceiver\n"
        "assert 'uvicorn' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
