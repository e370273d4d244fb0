"""The receiver's verifier: good, bad and stale signatures, and what the webhook sink actually sends."""

from __future__ import annotations

import time

import pytest

from bot.intake.model import encode
from bot.intake.verify import InvalidSignature, sign, verify
from bot.intake.webhook import WebhookSink
from tests.intake.receiver import SECRET, Receiver

BODY = encode({"schema": "tip.v1", "reference": "TG-2026-000001", "message_text": "Tiếng Việt có dấu"})


def test_a_good_signature_verifies() -> None:
    ts = str(int(time.time()))
    verify(secret=SECRET, body=BODY, timestamp=ts, signature=sign(SECRET, ts, BODY))
    verify(secret=SECRET.encode(), body=BODY, timestamp=ts, signature=sign(SECRET, ts, BODY))


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert sign("k", "1767225600", BODY) == f"sha256={expected}"


@pytest.mark.parametrize(("change", "fragment"), [
    ({"secret": "other-secret"}, "does not match"),
    ({"body": BODY + b" "}, "does not match"),
    ({"signature": "sha256=" + "0" * 64}, "does not match"),
    ({"signature": "md5=abc"}, "malformed X-Hotline-Signature"),
    ({"signature": None}, "malformed X-Hotline-Signature"),
    ({"signature": "sha256=ẞ"}, "does not match"),
    ({"timestamp": None}, "malformed X-Hotline-Timestamp"),
    ({"timestamp": "12a"}, "malformed X-Hotline-Timestamp"),
    ({"timestamp": "١٢٣"}, "malformed X-Hotline-Timestamp"),  # Arabic-Indic digits are digits to isdigit()
])
def test_bad_signatures_are_refused(change: dict[str, object], fragment: str) -> None:
    ts = str(int(time.time()))
    args: dict[str, object] = {"secret": SECRET, "body": BODY, "timestamp": ts, "signature": sign(SECRET, ts, BODY)}
    args.update(change)
    with pytest.raises(InvalidSignature, match=fragment):
        verify(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("skew", [-301, 301, -86_400])
def test_stale_or_future_timestamps_are_refused_even_when_signed(skew: int) -> None:
    ts = str(int(time.time()) + skew)
    with pytest.raises(InvalidSignature, match="off"):
        verify(secret=SECRET, body=BODY, timestamp=ts, signature=sign(SECRET, ts, BODY))
    verify(secret=SECRET, body=BODY, timestamp=ts, signature=sign(SECRET, ts, BODY), tolerance=100_000)


async def test_the_sink_signs_what_it_sends_and_a_wrong_secret_is_rejected() -> None:
    with Receiver() as receiver:
        good = WebhookSink(receiver.url, SECRET)
        await good.deliver({"schema": "tip.v1", "reference": "TG-2026-000001"}, key="TG-2026-000001")
        await good.aclose()
        bad = WebhookSink(receiver.url, "not-the-secret")
        with pytest.raises(Exception, match="HTTP 401"):
            await bad.deliver({"schema": "tip.v1", "reference": "TG-2026-000002"}, key="TG-2026-000002")
        await bad.aclose()
    assert list(receiver.accepted) == ["TG-2026-000001"] and receiver.invalid == ["signature does not match"]
