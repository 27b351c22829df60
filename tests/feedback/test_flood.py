"""Flood limiter: sliding window per key, bounded memory."""
from app.flood import FloodLimiter


def test_limit_per_key_in_a_sliding_window():
    now = [0.0]
    limiter = FloodLimiter(limit=3, window=60, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b") is True  # other clients are not affected
    assert limiter.retry_after("a") == 60
    now[0] = 59.9
    assert limiter.allow("a") is False
    now[0] = 60.0
    assert limiter.allow("a") is True  # the first event left the window
    assert limiter.retry_after("b") == 0


def test_memory_stays_bounded_with_many_clients():
    now = [0.0]
    limiter = FloodLimiter(limit=2, window=10, max_keys=100, clock=lambda: now[0])
    for i in range(1000):
        now[0] += 0.001
        assert limiter.allow(f"client-{i}")
    assert len(limiter._events) <= 100
