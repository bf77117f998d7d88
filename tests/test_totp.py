from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pytest_anchor_mfa.codes.totp import (
    StepLedger,
    TotpGenerator,
    find_totp_step,
    hotp,
    random_secret,
    time_step,
    totp,
    verify_totp,
)
from pytest_anchor_mfa.errors import InvalidArgumentError, TotpTimeoutError


def b32(seed: bytes) -> str:
    return base64.b32encode(seed).decode()


# RFC 6238 appendix B: the seed for each algorithm is "1234567890" repeated to the hash size.
SEEDS = {
    "sha1": b32(b"12345678901234567890"),
    "sha256": b32(b"12345678901234567890123456789012"),
    "sha512": b32(b"1234567890" * 6 + b"1234"),
}
RFC6238_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
RFC4226_CODES = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]
SECRET = SEEDS["sha1"]
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), RFC6238_VECTORS)
def test_rfc6238_vectors(at: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        code = totp(SEEDS[algorithm], at=at, digits=8, algorithm=algorithm)
        assert code == expected, algorithm
        assert verify_totp(SEEDS[algorithm], expected, at=at, digits=8, algorithm=algorithm)


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226_CODES)))
def test_rfc4226_vectors(counter: int, expected: str) -> None:
    assert hotp(SECRET, counter) == expected
    # TOTP is HOTP of the time-step.
    assert totp(SECRET, at=counter * 30 + 29) == expected


def test_time_step() -> None:
    assert time_step(59, 30) == 1
    assert time_step(60, 30) == 2
    assert time_step(1111111109.5, 30) == 37037036
    with pytest.raises(InvalidArgumentError):
        time_step(-1, 30)


def test_secret_forms_are_equivalent() -> None:
    spaced = " ".join(SECRET[i : i + 4] for i in range(0, len(SECRET), 4)).lower()
    assert totp(spaced, at=59) == totp(SECRET, at=59) == "287082"
    assert totp("JBSWY3DPEHPK3PXP", at=0) == totp("jbsw y3dp ehpk 3pxp====", at=0)
    assert totp("MZXW6", at=0) == totp("mzxw6===", at=0)  # "foo": padding optional


@given(st.binary(min_size=1, max_size=64), st.data())
def test_any_secret_survives_formatting(seed: bytes, data: st.DataObject) -> None:
    canonical = b32(seed)
    sloppy = canonical.rstrip("=") if data.draw(st.booleans()) else canonical
    sloppy = sloppy.lower() if data.draw(st.booleans()) else sloppy
    cut = data.draw(st.integers(0, len(sloppy)))
    sloppy = f" {sloppy[:cut]} \t{sloppy[cut:]}\n"
    at = data.draw(st.floats(0, 2**40, allow_nan=False))
    assert totp(sloppy, at=at) == totp(canonical, at=at)


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
def test_bad_secret_is_an_invalid_argument_without_echo(head: str, bad: str, tail: str) -> None:
    secret = head + bad + tail
    assume(any(c not in BASE32 + BASE32.lower() + "=" and not c.isspace() for c in bad))
    with pytest.raises(InvalidArgumentError) as info:
        totp(secret)
    assert "TOTP secret" in str(info.value)
    stripped = "".join(secret.split())
    if len(stripped) >= 8:
        assert stripped not in str(info.value)
        assert secret not in repr(info.value)


@given(st.text(alphabet=BASE32, min_size=1, max_size=80))
def test_base32_length_is_checked(secret: str) -> None:
    if len(secret) % 8 in (1, 3, 6):
        with pytest.raises(InvalidArgumentError, match="length"):
            totp(secret)
    else:
        assert len(totp(secret)) == 6


@pytest.mark.parametrize("secret", ["", "   ", "===="])
def test_empty_secret(secret: str) -> None:
    with pytest.raises(InvalidArgumentError, match="empty"):
        totp(secret)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"digits": 5}, "digits"),
        ({"digits": 11}, "digits"),
        ({"algorithm": "md5"}, "algorithm"),
        ({"period": 0}, "period"),
    ],
)
def test_bad_parameters(kwargs: dict[str, int | str], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        totp(SECRET, at=0, **kwargs)  # type: ignore[arg-type]


def test_algorithm_names_are_flexible() -> None:
    assert totp(SEEDS["sha256"], at=59, digits=8, algorithm="SHA-256") == "46119246"


def test_verify_window_and_format() -> None:
    now = 1_000_000.0
    current, previous, following = (totp(SECRET, at=now + d) for d in (0, -30, 30))
    assert verify_totp(SECRET, current, at=now)
    assert verify_totp(SECRET, f" {current[:3]} {current[3:]} ", at=now)
    assert verify_totp(SECRET, previous, at=now)
    assert verify_totp(SECRET, following, at=now)
    assert not verify_totp(SECRET, previous, at=now, window=0)
    assert not verify_totp(SECRET, totp(SECRET, at=now - 60), at=now)
    assert not verify_totp(SECRET, current[:-1], at=now)
    assert not verify_totp(SECRET, "abcdef", at=now)
    assert not verify_totp(SECRET, 123456, at=now)  # type: ignore[arg-type]


def test_find_step_reports_the_matching_step() -> None:
    now = 1_000_000.0
    step = time_step(now, 30)
    assert find_totp_step(SECRET, totp(SECRET, at=now), at=now) == step
    assert find_totp_step(SECRET, totp(SECRET, at=now - 30), at=now) == step - 1
    candidates = {totp(SECRET, at=now + d) for d in (-30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in candidates)
    assert find_totp_step(SECRET, wrong, at=now) is None
    assert find_totp_step(SECRET, totp(SECRET, at=now + 30), at=now, window=0) is None


def test_random_secret() -> None:
    first, second = random_secret(), random_secret()
    assert first != second
    assert len(first) == 32 and set(first) <= set(BASE32)
    assert len(base64.b32decode(first)) == 20
    assert verify_totp(first, totp(first))


class FakeClock:
    """Unix time that only moves when someone sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_generator_never_repeats_a_step() -> None:
    clock = FakeClock(1_000_010.0)  # 10 s into step 33333
    generator = TotpGenerator(SECRET, clock=clock, sleep=clock.sleep)
    assert generator.next_code(timeout=60) == totp(SECRET, at=1_000_010)
    assert clock.sleeps == []
    assert generator.next_code(timeout=60) == totp(SECRET, at=1_000_020)
    assert clock.sleeps == [pytest.approx(10.0)]
    assert generator.last_step == time_step(1_000_020, 30)
    clock.now += 95  # several steps later: no wait needed
    assert generator.next_code(timeout=60) == totp(SECRET, at=clock.now)
    assert len(clock.sleeps) == 1


def test_generator_timeout_shorter_than_the_wait_fails_fast() -> None:
    clock = FakeClock(1_000_001.0)
    generator = TotpGenerator(SECRET, clock=clock, sleep=clock.sleep)
    generator.next_code(timeout=1)
    with pytest.raises(TotpTimeoutError, match="already used") as info:
        generator.next_code(timeout=5)
    assert clock.sleeps == []
    assert totp(SECRET, at=clock.now) not in str(info.value)


def test_generator_is_thread_safe() -> None:
    clock = FakeClock(1_000_000.0)
    generator = TotpGenerator(SECRET, clock=clock, sleep=clock.sleep)
    codes: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        code = generator.next_code(timeout=60)
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=take) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    expected = {totp(SECRET, at=1_000_000 + 30 * i) for i in range(5)}
    assert sorted(codes) == sorted(expected)


def test_queued_caller_respects_its_timeout() -> None:
    clock = FakeClock(1_000_000.0)
    sleeping, release = threading.Event(), threading.Event()

    def slow_sleep(seconds: float) -> None:
        sleeping.set()
        release.wait(10)
        clock.sleep(seconds)

    generator = TotpGenerator(SECRET, clock=clock, sleep=slow_sleep)
    generator.next_code(timeout=60)
    waiter = threading.Thread(target=generator.next_code, kwargs={"timeout": 60})
    waiter.start()
    try:
        assert sleeping.wait(10)
        with pytest.raises(TotpTimeoutError, match="other callers"):
            generator.next_code(timeout=0.1)
    finally:
        release.set()
        waiter.join(10)
    assert generator.last_step == time_step(1_000_000, 30) + 1


def test_generator_waits_in_real_time() -> None:
    # A 1 s period keeps the real wait short; the timeout bounds it.
    generator = TotpGenerator(SECRET, period=1)
    first = generator.next_code(timeout=5)
    step = generator.last_step
    second = generator.next_code(timeout=5)
    assert generator.last_step is not None and step is not None
    assert generator.last_step > step
    assert (first, second) == (
        totp(SECRET, at=step, period=1),
        totp(SECRET, at=generator.last_step, period=1),
    )


def test_generator_rejects_a_bad_secret_up_front() -> None:
    with pytest.raises(InvalidArgumentError):
        TotpGenerator("not a secret!")
    assert "JBSW" not in repr(TotpGenerator("JBSWY3DPEHPK3PXP"))


def test_ledger_shares_used_steps_between_generators(tmp_path: Path) -> None:
    # Two generators stand for two xdist workers: each opens the ledger file on its own.
    clock = FakeClock(1_000_010.0)
    first = TotpGenerator(
        SECRET, clock=clock, sleep=clock.sleep, ledger=StepLedger(SECRET, tmp_path)
    )
    second = TotpGenerator(
        SECRET, clock=clock, sleep=clock.sleep, ledger=StepLedger(SECRET, tmp_path)
    )
    assert first.next_code(timeout=60) == totp(SECRET, at=1_000_010)
    assert second.next_code(timeout=60) == totp(SECRET, at=1_000_020)
    assert clock.sleeps == [pytest.approx(10.0)]
    assert first.next_code(timeout=60) == totp(SECRET, at=1_000_050)


def test_ledger_file_names_no_secret_and_holds_only_the_step(tmp_path: Path) -> None:
    clock = FakeClock(1_000_010.0)
    ledger = StepLedger(SECRET, tmp_path)
    TotpGenerator(SECRET, clock=clock, sleep=clock.sleep, ledger=ledger).next_code(timeout=60)
    assert SECRET not in str(ledger.path) and SECRET not in repr(ledger)
    assert ledger.path.read_text() == str(time_step(1_000_010, 30))


def test_ledger_held_elsewhere_fails_within_the_timeout(tmp_path: Path) -> None:
    ledger = StepLedger(SECRET, tmp_path)
    other = StepLedger(SECRET, tmp_path)
    with (
        ledger.claim(timeout=1),
        pytest.raises(TotpTimeoutError, match="another process held"),
    ):
        TotpGenerator(SECRET, ledger=other).next_code(timeout=0.05)
