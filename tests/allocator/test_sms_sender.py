"""The HTTP sender alone, against a local gateway: retries with backoff, what is never
retried, the headers, and no redirect followed."""

from __future__ import annotations

import pytest

from allocator.sms_sender import HttpSender, Outgoing, Refused, from_env
from tests.allocator.sms_gateway import always, first_calls_fail, gateway

MESSAGE = Outgoing("k" * 32, "0901234567", "UBND Phường Sài Gòn: Mã nhận: ABCD-EFGH")


def test_two_failed_calls_are_retried_and_the_message_goes_once() -> None:
    waits: list[float] = []
    with gateway(first_calls_fail(500, "drop")) as gw:
        sender = HttpSender(gw.url, "secret", base_delay=0.01, max_delay=1, sleep=waits.append)
        delivery = sender(MESSAGE)
    assert (delivery.sent, delivery.tries, delivery.error) == (True, 3, "")
    assert gw.accepted == [{"id": MESSAGE.key, "phone": MESSAGE.phone,
                            "message": MESSAGE.message}]
    assert {c["headers"]["Idempotency-Key"] for c in gw.calls} == {MESSAGE.key}
    assert {c["headers"]["Authorization"] for c in gw.calls} == {"Bearer secret"}
    assert len(waits) == 2 and 0.01 <= waits[0] < waits[1] <= 1  # doubled, bounded


def test_a_gateway_that_keeps_failing_fails_the_message_with_its_error() -> None:
    waits: list[float] = []
    with gateway(always(503)) as gw:
        delivery = HttpSender(gw.url, tries=4, base_delay=1, max_delay=3,
                              sleep=waits.append)(MESSAGE)
    assert not delivery.sent and delivery.tries == 4 == len(gw.calls)
    assert delivery.error == "HTTP 503 Service Unavailable, after 4 tries"
    assert len(waits) == 3 and max(waits) == 3  # never beyond max_delay


def test_a_refused_message_is_not_retried_and_a_refused_sender_stops() -> None:
    with gateway(always(422)) as gw:
        delivery = HttpSender(gw.url, sleep=lambda s: None)(MESSAGE)
    assert (delivery.sent, delivery.tries, len(gw.calls)) == (False, 1, 1)
    assert delivery.error.startswith("HTTP 422")
    with gateway(always(401)) as gw, pytest.raises(Refused, match="refused the sender"):
        HttpSender(gw.url, "wrong", sleep=lambda s: None)(MESSAGE)


def test_retry_after_is_honoured_within_the_bound() -> None:
    waits: list[float] = []
    with gateway(first_calls_fail(429)) as gw:
        assert HttpSender(gw.url, base_delay=0.01, max_delay=5, sleep=waits.append)(MESSAGE).sent
    # http.server sends no Retry-After: the backoff applies.
    assert len(waits) == 1 and waits[0] < 0.1


def test_no_redirect_is_followed_and_only_http_urls_are_taken(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for status in (302, 307):
        with gateway(always(200)) as target, gateway(always(status)) as gw:
            gw.redirect_to = target.url
            delivery = HttpSender(gw.url, "secret", sleep=lambda s: None)(MESSAGE)
            assert not delivery.sent and delivery.error.startswith(f"HTTP {status}")
            assert target.calls == []  # the token never reaches another address
    for bad in ("file:///etc/passwd", "ftp://example.org/", "http://", "gateway"):
        with pytest.raises(Refused, match="http:// or https://"):
            HttpSender(bad)
    monkeypatch.delenv("ALLOCATOR_SMS_URL", raising=False)
    with pytest.raises(Refused, match="ALLOCATOR_SMS_URL"):
        from_env()
    monkeypatch.setenv("ALLOCATOR_SMS_URL", "https://sms.example.org/send")
    monkeypatch.setenv("ALLOCATOR_SMS_TOKEN", "t0ken")
    sender = from_env(base_delay=0)
    assert (sender.url, sender.token, sender.base_delay) == (
        "https://sms.example.org/send", "t0ken", 0)
