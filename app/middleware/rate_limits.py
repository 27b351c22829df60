"""Per-client rate limits on POST /predict (one budget shared with /predict/batch, per 4 images; /predict/number,
per digit; /explain, 3 each) and
POST /feedback (Flask-Limiter).

Limits are counted per client address in memory by default (``memory://``): nothing about a
client is ever written to disk, and each gunicorn worker counts on its own, so with W workers
a client gets at most W times the limit through. An operator who wants one count shared by all
workers points DIGIT_CANVAS_RATELIMIT_STORAGE at redis:// or memcached:// (that server then
holds the addresses, with an expiry). If that storage goes away, limits fall back to memory
rather than failing requests.

/predict from the server's own machine (DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT, loopback by default)
is not limited: health probes, load benchmarks and batch jobs run there by the operator. /feedback
is limited for every client, local or not: it writes to disk.

The client address is the TCP peer's. X-Forwarded-For is believed only when the operator says
how many proxies in front append to it (DIGIT_CANVAS_TRUSTED_PROXIES): without a proxy anyone
can write that header and would get a fresh limit with every request.
"""
from __future__ import annotations

import functools
import ipaddress
import math
import time
from typing import Callable, Sequence

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from app.settings import MAX_BATCH_IMAGES, IPNetwork
from app.middleware.errors import error_response

LIMITED_ENDPOINTS = {"api.predict": "PREDICT_LIMIT", "api.predict_batch": "PREDICT_LIMIT",
                     "number.predict_number": "PREDICT_LIMIT", "explain.explain_drawing": "PREDICT_LIMIT",
                     "feedback.post_feedback": "FEEDBACK_LIMIT"}


def client_key() -> str:
    """The client's address; an IPv6 client is one /64 (what one host or household is given)."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def init_app(app: Flask) -> Limiter:
    """Limit the endpoints of LIMITED_ENDPOINTS (already registered); every other route is free."""
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    limiter = Limiter(
        client_key, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"], strategy="fixed-window",
        headers_enabled=False,  # the 429 carries Retry-After; other answers need no rate headers
        swallow_errors=True, in_memory_fallback_enabled=True,  # a dead shared store must not fail requests
    )
    # A batch of n images counts ceil(n / 4), an explanation EXPLAIN_UNITS.
    costs = {"api.predict_batch": images_in_batch, "explain.explain_drawing": EXPLAIN_UNITS}
    after = {"number.predict_number": digits_read}  # a number counts 1 per digit, known once it is read
    free = free_request(app.config.get("PREDICT_LIMIT_EXEMPT", ()))
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        view = app.view_functions[endpoint]
        # One budget per setting: /predict, a batch, a number and an explanation all draw on the
        # client's PREDICT_LIMIT, so spreading requests over the routes gets no more through.
        limit = functools.partial(limiter.shared_limit, app.config[setting], scope=setting)
        if endpoint in after:
            limited = limit(cost=after[endpoint], deduct_when=always)(view)
        else:
            limited = limit(cost=costs.get(endpoint, 1))(view)
        app.view_functions[endpoint] = unless_free(free, view, limited)
    # Decided before Flask-Limiter looks at any limit (about 0.1 ms less on every free request).
    limiter.request_filter(free)
    skip_hooks_when_free(app, limiter, free)
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    app.extensions["rate_limiter"] = limiter
    return limiter


def skip_hooks_when_free(app: Flask, limiter: Limiter, free: Callable[[], bool]) -> None:
    """Flask-Limiter's app-wide before/after/teardown hooks run only for requests a limit applies to.

    Why: even with the request filter saying "exempt", the three hooks cost about 25 us per
    request (finding the route's limits, the conditional deductions, resetting the context).
    No app-wide default limit is set, so for a free request they have nothing to do.
    """
    before = app.before_request_funcs.setdefault(None, [])
    after = app.after_request_funcs.setdefault(None, [])
    teardown = app.teardown_request_funcs.setdefault(None, [])
    for hooks in (before, teardown):
        for i, hook in enumerate(hooks):
            if getattr(hook, "__self__", None) is limiter:
                hooks[i] = skipped_when_free(free, hook)
    for i, hook in enumerate(after):
        if isinstance(hook, functools.partial) and hook.args == (limiter,):
            after[i] = passed_through_when_free(free, hook)


def skipped_when_free(free: Callable[[], bool], hook: Callable) -> Callable:
    @functools.wraps(hook)
    def run(*args):
        if not free():
            return hook(*args)
        return None

    return run


def passed_through_when_free(free: Callable[[], bool], hook: Callable) -> Callable:
    def run(response: Response) -> Response:
        return response if free() else hook(response)

    return run


def unless_free(free: Callable[[], bool], view: Callable, limited: Callable) -> Callable:
    """The view itself for a free request, else through Flask-Limiter's route check (whose own
    bookkeeping costs about 50 us even when a request filter exempts the request)."""

    @functools.wraps(view)
    def dispatch(*args, **kwargs):
        return (view if free() else limited)(*args, **kwargs)

    return dispatch


def images_in_batch() -> int:
    """What a /predict/batch request counts against the /predict limit: 1 per 4 images started.

    A batched image costs the server about half a single request (docs/benchmarks.md), and a
    full batch of 64 (16 units) must fit in the default 20/second, or batches could never pass.
    A malformed request counts 1: it fails anyway.
    """
    payload = request.get_json(silent=True)
    images = payload.get("images") if isinstance(payload, dict) else None
    count = min(max(len(images), 1), MAX_BATCH_IMAGES) if isinstance(images, list) else 1
    return math.ceil(count / IMAGES_PER_UNIT)


IMAGES_PER_UNIT = 4
# What one /explain counts against the /predict limit. It costs the server ~2.6x a /predict (the
# page's request, 16 integrated-gradients steps; 1.9x with steps=0; docs/benchmarks.md, "Explanations"):
# counted as 1, spreading requests onto /explain would get ~2.6 times the work through.
EXPLAIN_UNITS = 3


def digits_read() -> int:
    """What a /predict/number request counts: one /predict per digit read (a failed one counts 1).

    The count is only known after the view has run, so Flask-Limiter first checks that one unit is
    left, and deducts the digits after the response (``deduct_when``): the request that crosses the
    limit is answered, the next one is refused.
    """
    return max(1, int(getattr(g, "number_digits", 1)))


def always(response: Response) -> bool:
    return True


PREDICT_ENDPOINTS = frozenset({"api.predict", "api.predict_batch", "number.predict_number",
                               "explain.explain_drawing"})


def free_request(exempt_networks: Sequence[IPNetwork]) -> Callable[[], bool]:
    """A request no limit applies to: an unlimited route, or /predict from an exempt network."""

    @functools.lru_cache(maxsize=4096)  # asked 2-3 times per request; an address's answer never changes
    def exempt(address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        ip = getattr(ip, "ipv4_mapped", None) or ip
        return any(ip in network for network in exempt_networks)

    def free() -> bool:
        endpoint = request.endpoint
        if endpoint not in LIMITED_ENDPOINTS:
            return True
        return endpoint in PREDICT_ENDPOINTS and exempt(request.remote_addr)

    return free


def too_many_requests(exc: RateLimitExceeded) -> Response:
    """429 in our JSON error shape, with Retry-After in whole seconds (at least 1)."""
    limiter: Limiter = current_app.extensions["rate_limiter"]
    current = limiter.current_limit
    window = exc.limit.limit.get_expiry()  # reset_at is whole seconds: never say more than one window
    wait = max(1, min(window, math.ceil(current.reset_at - time.time()))) if current else 1
    response = error_response(
        429, "too_many_requests", f"too many requests from one client (limit: {exc.limit.limit}); "
                                  f"try again in {wait} s")
    response.headers["Retry-After"] = str(wait)
    return response
