"""Request path speed: where one POST /predict spends its time, then latency and throughput
of the real server (gunicorn, `make run`'s command line) on 127.0.0.1 for a 280x280 canvas PNG.

    python -m bench.request_speed [--seconds 8] [--rounds 3] [--clients 1,4,16] [--client wrk|python]
                                  [--payload browser|pillow] [--form raw|json] [--format png|jpeg|webp]
                                  [--url URL] [--batch N]

The default payload is the PNG the page itself sends for a 7 drawn with the mouse in Chromium
(bench/payloads/canvas_7_chromium.png, made by bench/browser_payload.py); --payload pillow
draws a 7 with Pillow and saves it with Pillow's default PNG settings instead (zlib level 6,
adaptive filters), which costs twice the decoding time of the browser's export.

Without --url it starts gunicorn itself on a free port (WEB_CONCURRENCY workers, default: the
cores) and stops it by PID afterwards. Load is bounded: each phase stops after its time (and,
with the Python client, its request count). The load comes from wrk (Debian's `wrk`, C, about
30 us of CPU per request) when it is installed, else from Python threads with one keep-alive
http.client connection each (about 250 us per request, taken from the same two cores as the
server). The client's CPU time is reported either way. Figures are medians of repeated runs
where it matters: the machine is shared.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in the gunicorn workers

from PIL import Image, ImageDraw  # noqa: E402

BROWSER_PAYLOAD = REPO / "bench" / "payloads" / "canvas_7_chromium.png"


def canvas_image(transparent: bool = False, fmt: str = "PNG") -> bytes:
    """A '7' as the drawing page exports it: 280x280, anti-aliased 18 px strokes, RGBA PNG.

    The page sends dark ink on opaque white; transparent=True gives a cleared (transparent)
    canvas with the strokes only in alpha instead. fmt JPEG/WEBP: what a canvas's
    toDataURL('image/jpeg', 0.92) or ('image/webp') would send instead.
    """
    ss = 4
    mask = Image.new("L", (280 * ss, 280 * ss), 0)
    ImageDraw.Draw(mask).line(
        [(80 * ss, 60 * ss), (200 * ss, 60 * ss), (120 * ss, 230 * ss)], fill=255, width=18 * ss, joint="curve"
    )
    mask = mask.reduce(ss)
    if transparent:
        image = Image.new("RGBA", mask.size, (0, 0, 0, 0))
        image.putalpha(mask)
    else:
        image = Image.merge("RGBA", [mask.point(lambda v: 255 - v)] * 3 + [Image.new("L", mask.size, 255)])
    buf = io.BytesIO()
    if fmt == "PNG":
        image.save(buf, "PNG")  # zlib level 6, adaptive filters: like a browser's canvas export
    elif fmt == "JPEG":
        image.convert("RGB").save(buf, "JPEG", quality=92)
    else:
        image.save(buf, fmt, quality=80)
    return buf.getvalue()


# --- where the time goes inside one request ------------------------------------------------


def per_stage_profile(body: bytes, content_type: str, requests: int = 3000) -> tuple[float, list[tuple[str, float]]]:
    """CPU microseconds per stage, measured inside whole /predict requests through Flask's WSGI app.

    Each stage function is wrapped with a timer where the request path looks it up, so the
    figures include the cache misses of a real request (stages timed alone on a hot cache
    look up to 2x cheaper). Returns (whole request, [(stage, time), ...]).
    """
    import app.routes.predict as api
    import model.imaging.preprocess as pre
    from app import create_app
    from app.serving.model_holder import LoadedModel

    app = create_app()
    spent: dict[str, float] = {}

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - start

        return wrapper

    patches = [
        (api, "read_image_bytes", "read the body (JSON + base64 if sent so)"),
        (api, "decode_image", "decode the image (checks, open, load)"),
        (pre, "ink_image", "ink image (grey, alpha, polarity, contrast)"),
        (pre, "digit_crop", "crop to the digit (specks out)"),
        (pre, "fit_to_box", "stroke check + resize to 20 px"),
        (pre, "centre_by_mass", "centre by mass in 28x28"),
        (pre, "encode_preview", "preview PNG"),
        (LoadedModel, "predict_proba", "forward pass (MLP)"),
        (app.json, "response", "JSON response"),
    ]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    for owner, attr, name in patches:
        setattr(owner, attr, timed(name, getattr(owner, attr)))
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/predict", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": "", "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",  # a local client: not rate limited (app/middleware/rate_limits.py)
    }
    try:
        for _ in range(100):  # warm up
            b"".join(app.wsgi_app(dict(environ, **{"wsgi.input": io.BytesIO(body)}), lambda *a: None))
        spent.clear()
        start = time.process_time()
        for _ in range(requests):
            b"".join(app.wsgi_app(dict(environ, **{"wsgi.input": io.BytesIO(body)}), lambda *a: None))
        whole = (time.process_time() - start) / requests * 1e6
    finally:
        for owner, attr, fn in originals:
            setattr(owner, attr, fn)
    stages = [(name, spent.get(name, 0.0) / requests * 1e6) for _, _, name in patches]
    stages.append(("Flask, request parsing, glue (the rest)", whole - sum(t for _, t in stages)))
    return whole, stages


# --- load against the real server ----------------------------------------------------------


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc; 0 if unavailable)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(master: int) -> list[int]:
    """The gunicorn master and its workers."""
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        children = []
    return [master, *map(int, children)]


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM to a server we started (gunicorn stops its workers), SIGKILL to its group if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Server:
    """gunicorn started with the `make run` command line; stopped by PID."""

    def __init__(self, workers: int | None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ, HOST="127.0.0.1", PORT=str(self.port))
        # A load test is a flood from one address: lift the per-client rate limits (app/middleware/rate_limits.py).
        env.setdefault("DIGIT_CANVAS_PREDICT_LIMIT", "1000000/second")
        # Server CPU is read per worker PID from /proc: a recycled worker would take its count with it.
        env.setdefault("GUNICORN_MAX_REQUESTS", "10000000")
        if workers:
            env["WEB_CONCURRENCY"] = str(workers)
        self.log = tempfile.NamedTemporaryFile(prefix="request_speed_gunicorn_", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "app/deploy/gunicorn_conf.py", "app:create_app()"],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}; see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    time.sleep(1.0)  # let every worker finish booting
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("gunicorn did not start within 30 s")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()
        if self.proc.returncode == 0:
            os.unlink(self.log.name)  # kept only when something went wrong


def run_clients(
    host: str, port: int, body: bytes, headers: dict[str, str], clients: int, max_requests: int, seconds: float,
    server_pid: int | None = None, path: str = "/predict",
) -> dict:
    """`clients` threads, each with one keep-alive connection, POSTing until the count or the time is up."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    counter = iter(range(max_requests))
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    start_gate = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        own = latencies[k]
        start_gate.wait()
        try:
            while time.perf_counter() < stop_at:
                with lock:
                    if next(counter, None) is None:
                        return
                t0 = time.perf_counter()
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                data = response.read()
                own.append(time.perf_counter() - t0)
                if response.status != 200:
                    failures.append(f"{response.status} {data[:100]!r}")
                    return
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    pids = server_pids(server_pid) if server_pid else []
    server_cpu0 = process_cpu_seconds(pids)
    cpu0 = time.process_time()
    start_gate.wait()
    wall0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall0
    client_cpu = time.process_time() - cpu0
    server_cpu = process_cpu_seconds(pids) - server_cpu0
    if failures:
        raise SystemExit(f"requests failed: {failures[:3]}")
    all_latencies = sorted(x for own in latencies for x in own)
    count = len(all_latencies)
    return {
        "clients": clients,
        "requests": count,
        "seconds": wall,
        "rps": count / wall,
        "p50_ms": 1e3 * all_latencies[count // 2],
        "p90_ms": 1e3 * all_latencies[int(count * 0.90)],
        "p99_ms": 1e3 * all_latencies[min(count - 1, int(count * 0.99))],
        "client_cpu_us_per_request": 1e6 * client_cpu / count,
        "server_cpu_us_per_request": 1e6 * server_cpu / count if pids else float("nan"),
    }


WRK_SCRIPT = """
local f = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE")
"""
WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * WRK_UNITS[unit]


def run_wrk(
    host: str, port: int, body: bytes, headers: dict[str, str], clients: int, seconds: float,
    server_pid: int | None = None, path: str = "/predict",
) -> dict:
    """wrk with `clients` keep-alive connections for `seconds`; every answer must be a 200."""
    with tempfile.TemporaryDirectory(prefix="request_speed_wrk_") as tmp:
        (Path(tmp) / "body").write_bytes(body)
        (Path(tmp) / "post.lua").write_text(WRK_SCRIPT)
        env = dict(os.environ, WRK_BODY_FILE=str(Path(tmp) / "body"), WRK_CONTENT_TYPE=headers["Content-Type"])
        command = ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds:g}s", "--latency", "--timeout", "30s",
                   "-s", str(Path(tmp) / "post.lua"), f"http://{host}:{port}{path}"]
        pids = server_pids(server_pid) if server_pid else []
        server_cpu0 = process_cpu_seconds(pids)
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = process_cpu_seconds(pids) - server_cpu0
    out = done.stdout
    if done.returncode != 0 or "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk: requests failed or wrk did not run:\n{out}{done.stderr}")
    count, wall = re.search(r"(\d+) requests in ([\d.]+\w+)", out).groups()
    count = int(count)
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.MULTILINE))
    client_cpu = (children1.ru_utime - children0.ru_utime) + (children1.ru_stime - children0.ru_stime)
    return {
        "clients": clients,
        "requests": count,
        "seconds": wrk_ms(wall) / 1e3,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": wrk_ms(latency["50"]),
        "p90_ms": wrk_ms(latency["90"]),
        "p99_ms": wrk_ms(latency["99"]),
        "client_cpu_us_per_request": 1e6 * client_cpu / count,
        "server_cpu_us_per_request": 1e6 * server_cpu / count if pids else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="an already running server, e.g. http://127.0.0.1:8000 (default: start one)")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for the server started here")
    parser.add_argument("--single", type=int, default=2000, help="requests for the one-user latency run")
    parser.add_argument("--seconds", type=float, default=8.0, help="time limit of each load phase")
    parser.add_argument("--max-requests", type=int, default=20000, help="request limit of each load phase")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--rounds", type=int, default=3, help="load rounds (medians are reported)")
    parser.add_argument("--payload", default="browser", choices=["browser", "pillow"],
                        help="browser: the PNG the page sends from Chromium (default); pillow: a 7 drawn and "
                             "encoded by Pillow (--transparent and --format apply to this one)")
    parser.add_argument("--client", default="wrk" if shutil.which("wrk") else "python", choices=["wrk", "python"],
                        help="load generator (default: wrk when installed)")
    parser.add_argument("--transparent", action="store_true", help="a transparent canvas instead of opaque white")
    parser.add_argument("--format", default="png", choices=["png", "jpeg", "webp"])
    parser.add_argument("--form", default="raw", choices=["raw", "json"], help="raw image body or the page's JSON")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--batch", type=int, default=0,
                        help="POST this many copies of the image to /predict/batch per request (JSON) "
                             "instead of one to /predict; throughput is then also given in images/s")
    args = parser.parse_args()

    if args.payload == "browser":
        image, args.format = BROWSER_PAYLOAD.read_bytes(), "png"
    else:
        image = canvas_image(args.transparent, args.format.upper())
    media_type = "image/" + args.format.lower()
    path, images_per_request = "/predict", 1
    if args.batch:
        url = f"data:{media_type};base64," + base64.b64encode(image).decode()
        body = json.dumps({"images": [url] * args.batch}).encode()
        headers = {"Content-Type": "application/json"}
        path, images_per_request = "/predict/batch", args.batch
        args.no_profile = True  # the stage profile is of /predict
    elif args.form == "json":  # what the page sends: {"image": "<data URL>"}
        body = json.dumps({"image": f"data:{media_type};base64," + base64.b64encode(image).decode()}).encode()
        headers = {"Content-Type": "application/json"}
    else:
        body, headers = image, {"Content-Type": media_type}
    made_by = ("the page in Chromium" if args.payload == "browser"
               else f"Pillow, {'transparent' if args.transparent else 'opaque white'}")
    print(f"payload: 280x280 {args.format.upper()} canvas made by {made_by}, {len(image)} bytes, "
          f"sent as {headers['Content-Type']} ({len(body)} bytes) to {path}; load from {args.client}")
    if not args.no_profile:
        whole, stages = per_stage_profile(body, headers["Content-Type"])
        print(f"\nCPU time of one /predict through Flask's WSGI app (in-process, mean of 3000): {whole:.0f} us")
        for name, micros in stages:
            print(f"  {name:44s} {micros:7.0f} us  {100 * micros / whole:3.0f}%")

    server = None
    if args.url:
        parts = urlsplit(args.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
    else:
        server = Server(args.workers)
        host, port = "127.0.0.1", server.port
    try:
        pid = server.proc.pid if server else None
        run_clients(host, port, body, headers, 2, 400, 5.0, path=path)  # warm up every worker

        def load(clients: int, max_requests: int, seconds: float) -> dict:
            if args.client == "wrk":
                return run_wrk(host, port, body, headers, clients, seconds, pid, path)
            return run_clients(host, port, body, headers, clients, max_requests, seconds, pid, path)

        single = load(1, args.single, args.seconds)
        print(f"\none user, {single['requests']} sequential requests on one keep-alive connection:")
        print(f"  p50 {single['p50_ms']:.2f} ms   p90 {single['p90_ms']:.2f} ms   p99 {single['p99_ms']:.2f} ms"
              f"   ({single['rps']:.0f} req/s)")
        print(f"\nthroughput, {args.rounds} rounds of <= {args.seconds:.0f} s or {args.max_requests} requests, "
              "medians:")
        for clients in (int(c) for c in args.clients.split(",")):
            runs = [load(clients, args.max_requests, args.seconds) for _ in range(args.rounds)]
            med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            rounds = ", ".join(f"{r['rps']:.0f}" for r in runs)
            print(f"  {clients:3d} clients: {med['rps']:7.0f} req/s  (rounds: {rounds})  p50 {med['p50_ms']:.2f} ms  "
                  f"p99 {med['p99_ms']:.2f} ms  CPU per request: server {med['server_cpu_us_per_request']:.0f} us, "
                  f"client {med['client_cpu_us_per_request']:.0f} us"
                  + (f"  = {med['rps'] * images_per_request:.0f} images/s, server CPU per image "
                     f"{med['server_cpu_us_per_request'] / images_per_request:.0f} us" if images_per_request > 1 else ""))
            if clients == max(int(c) for c in args.clients.split(",")) and server:
                per_request = med["server_cpu_us_per_request"] + med["client_cpu_us_per_request"]
                capacity = os.cpu_count() * 1e6 / per_request
                print(f"  -> with both cores to itself this box would do about {capacity:.0f} req/s "
                      + (f"= {capacity * images_per_request:.0f} images/s " if images_per_request > 1 else "")
                      + "(cores / CPU per request, server + client)")
    finally:
        if server:
            server.stop()
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
