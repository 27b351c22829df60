"""What request ids, security headers, the JSON access line and the metrics cost per request.

    python -m bench.observe_overhead [--rounds 8]

One app in one process, set up as under gunicorn (metrics in multiprocess mode in a temporary
folder, app logging configured by app/middleware/logging_setup.py, lines written to a temporary file);
requests go through its WSGI callable with those hooks registered and with them removed, in
alternating rounds, so both see the same machine load. Reports median CPU microseconds per
request (process time, not wall time: the machine is shared) for GET /healthz and a canvas PNG
POST /predict, and the median per-round difference.
"""
from __future__ import annotations

import argparse
import atexit
import io
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time

METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="observe-overhead-")  # before the import
atexit.register(shutil.rmtree, METRICS_DIR, True)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from app import create_app  # noqa: E402
from app.middleware import access_log, request_id, security_headers  # noqa: E402
from app.middleware.logging_setup import configure_for_gunicorn  # noqa: E402
from bench.request_speed import canvas_image  # noqa: E402

HOOKS = {access_log.start_timer, access_log.finish_request, request_id.add_request_id_header,
         security_headers.add_security_headers}


def environ(method: str, path: str, body: bytes, content_type: str | None) -> dict:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
           "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
           "wsgi.errors": sys.stderr, "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body))}
    if content_type:
        env["CONTENT_TYPE"] = content_type
    return env


def cpu_per_request(app, n: int, method: str, path: str, body: bytes = b"", content_type: str | None = None) -> float:
    start = time.process_time()
    for _ in range(n):
        chunks = app.wsgi_app(environ(method, path, body, content_type), lambda status, headers, exc=None: None)
        for _ in chunks:
            pass
        getattr(chunks, "close", lambda: None)()
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()

    log_file = tempfile.NamedTemporaryFile("w", prefix="observe-overhead-", suffix=".log", delete=False)
    gunicorn_error = logging.getLogger("gunicorn.error")
    gunicorn_error.addHandler(logging.StreamHandler(log_file))
    configure_for_gunicorn(gunicorn_error)
    logging.getLogger("app.access").handlers[0].setStream(log_file)

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"INSTANCE_PATH": instance})
        hooked = (list(app.before_request_funcs[None]), list(app.after_request_funcs[None]))
        bare = tuple([f for f in funcs if f not in HOOKS] for funcs in hooked)
        png = canvas_image()
        cases = {"GET /healthz": (3000, "GET", "/healthz"),
                 "POST /predict": (600, "POST", "/predict", png, "image/png")}
        times: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds):
            for mode in ("with", "without") if r % 2 == 0 else ("without", "with"):
                app.before_request_funcs[None], app.after_request_funcs[None] = hooked if mode == "with" else bare
                for case, (n, *request) in cases.items():
                    times.setdefault((case, mode), []).append(cpu_per_request(app, n, *request))
    print(f"CPU per request, median of {args.rounds} rounds (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    for case in cases:
        on, off = times[(case, "with")], times[(case, "without")]
        extra = statistics.median(a - b for a, b in zip(on, off))
        print(f"  {case:14s} without {statistics.median(off):7.0f} us   with {statistics.median(on):7.0f} us"
              f"   cost {extra:5.0f} us")
    os.unlink(log_file.name)


if __name__ == "__main__":
    main()
