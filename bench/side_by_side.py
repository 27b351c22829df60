"""The project against a minimal reference service, under the same load, in one run: the ratio.

    python -m bench.side_by_side [--rounds 5] [--seconds 5] [--clients 16] [--project-env K=V ...]

Two servers on 127.0.0.1, both started here and stopped by PID:
- the project, with `make run`'s command line (gunicorn -c app/deploy/gunicorn_conf.py "app:create_app()");
- bench/reference_service.py, Flask + Pillow + NumPy doing the same work plainly, served the
  usual way: `gunicorn -w <cores> bench.reference_service:app` (sync workers, gunicorn's defaults).
Each round measures both, in alternating order: one user (one keep-alive connection, wrk -c1)
and `--clients` connections, each phase `--seconds` long, the page's own PNG as a raw
image/png body (bench/payloads/canvas_7_chromium.png). Reported: the medians over the rounds,
the ratio of the medians (project / reference: req/s and one-user p50), the load average
before and after, and whether any answer was not a 200 or any log holds a Traceback.
The machine may be shared: a ratio from one run is the figure to quote, not the raw req/s.
"""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from request_speed import BROWSER_PAYLOAD, run_clients, run_wrk, stop_process  # noqa: E402

HEADERS = {"Content-Type": "image/png"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """One gunicorn command on a free port; its log kept in a temporary file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.port = name, free_port()
        self.log = tempfile.NamedTemporaryFile(prefix=f"side_by_side_{name}_", suffix=".log", delete=False)
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), **env}
        command = [sys.executable, "-m", "gunicorn", *[a.replace("{port}", str(self.port)) for a in args]]
        self.proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{name}: gunicorn exited with {self.proc.returncode}; see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("POST", "/predict", BROWSER_PAYLOAD.read_bytes(), HEADERS)
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit(f"{name}: no answer within 60 s; see {self.log.name}")
        run_clients("127.0.0.1", self.port, BROWSER_PAYLOAD.read_bytes(), HEADERS, 4, 400, 3.0)  # warm every worker

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def measure(server: Served, body: bytes, clients: int, seconds: float, use_wrk: bool) -> dict:
    """One phase; any answer other than a 200 stops the run (run_wrk / run_clients raise)."""
    if use_wrk:
        return run_wrk("127.0.0.1", server.port, body, HEADERS, clients, seconds, server.proc.pid)
    return run_clients("127.0.0.1", server.port, body, HEADERS, clients, 10 ** 7, seconds, server.proc.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reference-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--project-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the project's gunicorn (e.g. GUNICORN_THREADS=1)")
    parser.add_argument("--client", default="wrk" if shutil.which("wrk") else "python", choices=["wrk", "python"])
    args = parser.parse_args()
    body = BROWSER_PAYLOAD.read_bytes()
    use_wrk = args.client == "wrk"
    load_before = os.getloadavg()
    project_env = dict(item.split("=", 1) for item in args.project_env)
    servers = [
        Served("project", ["-c", "app/deploy/gunicorn_conf.py", "app:create_app()"], project_env),
        Served("reference", ["-w", str(args.reference_workers), "-b", "127.0.0.1:{port}",
                             "bench.reference_service:app"], {"OPENBLAS_NUM_THREADS": "1"}),
    ]
    results: dict[str, dict[str, list[float]]] = {s.name: {"rps": [], "p50": [], "rps1": [], "cpu": []} for s in servers}
    try:
        for round_no in range(args.rounds):
            for server in (servers if round_no % 2 == 0 else servers[::-1]):
                single = measure(server, body, 1, args.seconds, use_wrk)
                loaded = measure(server, body, args.clients, args.seconds, use_wrk)
                results[server.name]["p50"].append(single["p50_ms"])
                results[server.name]["rps1"].append(single["rps"])
                results[server.name]["rps"].append(loaded["rps"])
                results[server.name]["cpu"].append(loaded["server_cpu_us_per_request"])
                print(f"round {round_no + 1} {server.name:9s}: one user p50 {single['p50_ms']:6.2f} ms "
                      f"({single['rps']:5.0f} req/s), {args.clients} clients {loaded['rps']:6.0f} req/s, "
                      f"server CPU {loaded['server_cpu_us_per_request']:5.0f} us/request", flush=True)
    finally:
        logs = {s.name: s.log_text() for s in servers}
        for server in servers:
            server.stop()
    load_after = os.getloadavg()
    med = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}
    p, r = med["project"], med["reference"]
    print(f"\n{args.rounds} rounds x {args.seconds:g} s per phase, load from {args.client}; medians:")
    print(f"  project  : {args.clients} clients {p['rps']:6.0f} req/s   one user p50 {p['p50']:.2f} ms"
          f"   server CPU {p['cpu']:.0f} us/request")
    print(f"  reference: {args.clients} clients {r['rps']:6.0f} req/s   one user p50 {r['p50']:.2f} ms"
          f"   server CPU {r['cpu']:.0f} us/request   (gunicorn -w {args.reference_workers}, sync workers)")
    print(f"  ratio project/reference: {p['rps'] / r['rps']:.2f}x req/s at {args.clients} clients "
          f"(target >= 2), one-user p50 {p['p50'] / r['p50']:.2f}x (target <= 1.5)")
    print(f"  server CPU per request, reference/project: {r['cpu'] / p['cpu']:.2f}x "
          "(what the req/s ratio tends to on an idle machine)")
    round_ratios = [a / b for a, b in zip(results["project"]["rps"], results["reference"]["rps"])]
    print(f"  per-round req/s ratios: {', '.join(f'{x:.2f}' for x in round_ratios)}")
    for name, text in logs.items():
        print(f"  {name} log: {'Traceback found' if 'Traceback' in text else 'no Traceback'}")
    print("  every answer was a 200 (any other status stops the run)")
    print(f"  load average before {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}, "
          f"after {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f} on {os.cpu_count()} cores")
    print("  uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
