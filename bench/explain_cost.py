"""What POST /explain costs the server, next to POST /predict (issue 14: at most 3x).

    python bench/explain_cost.py [--rounds 7] [--requests 150] [--main] [--kinds predict,explain,...]

Starts gunicorn with one worker (`make run`'s command line, bench/request_speed.py's Server)
and sends, over one keep-alive connection, alternating rounds of `--requests` POSTs of the
page's own payload (bench/payloads/canvas_7_chromium.png as the JSON data URL the page sends):
/predict, /explain (default options: 16 integrated-gradients steps), /explain?steps=0 and
/explain?target=3. The worker's CPU time (utime + stime from /proc) is read around each round,
so the figures are server CPU per request whatever the client costs; rounds alternate (in
reverse order every other round) so every kind sees the same machine load. Reports the median per kind and the median of the per-round
ratios to /predict.

--main also starts a server from `git archive main` (or --ref) in a temporary folder and
alternates /predict rounds on both, to show /predict itself is unchanged by this branch. Both
workers are pinned to one CPU (--cpu): otherwise each may sit on a core loaded differently by
other jobs, which showed as a steady 20% difference between two servers of the same code.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bench.request_speed as request_speed  # noqa: E402
from bench.request_speed import BROWSER_PAYLOAD, Server, process_cpu_seconds, server_pids  # noqa: E402

KINDS = {"predict": "/predict", "explain": "/explain", "explain steps=0": "/explain?steps=0",
         "explain target=3": "/explain?target=3"}


def worker_pid(server: Server) -> int:
    pids = server_pids(server.proc.pid)[1:]
    if len(pids) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {pids}")
    return pids[0]


def pin(pid: int, cpu: int) -> None:
    """Every thread of the process on one CPU (threads made later inherit it from their creator)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), {cpu})


def round_cpu(server: Server, pid: int, path: str, body: bytes, n: int) -> float:
    """Server CPU microseconds per request over n requests (all must answer 200)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    conn.request("POST", path, body, headers)  # warm the connection and the code path
    conn.getresponse().read()
    before = process_cpu_seconds([pid])
    size = 0
    for _ in range(n):
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {data[:200]!r}")
        size = len(data)
    spent = process_cpu_seconds([pid]) - before
    conn.close()
    return spent / n * 1e6, size


def start(folder: Path) -> Server:
    # Server runs `python -m gunicorn` in request_speed.REPO: point it at the folder to serve.
    request_speed.REPO = folder
    try:
        os.environ["WEB_CONCURRENCY"] = "1"
        return Server(1)
    finally:
        request_speed.REPO = REPO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--main", action="store_true", help="also time /predict of `main` (git archive)")
    parser.add_argument("--ref", default="main", help="the commit --main compares with (default: main)")
    parser.add_argument("--cpu", type=int, default=os.cpu_count() - 1,
                        help="pin both servers' workers to this CPU (default: the last): on a shared machine one "
                             "core can be busier than the other, which alone moved /predict by 20%% between servers")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"which of {', '.join(KINDS)} (comma-separated)")
    args = parser.parse_args()
    body = json.dumps({"image": "data:image/png;base64," + base64.b64encode(BROWSER_PAYLOAD.read_bytes()).decode()}).encode()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), "
          f"{os.cpu_count()} cores; {args.rounds} rounds x {args.requests} requests per kind", flush=True)
    servers = {"branch": start(REPO)}
    tmp = None
    try:
        if args.main:
            tmp = tempfile.TemporaryDirectory(prefix="explain-cost-main-")
            archive = subprocess.run(["git", "archive", args.ref], cwd=REPO, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp.name], input=archive, check=True)
            servers["main"] = start(Path(tmp.name))
        pids = {name: worker_pid(server) for name, server in servers.items()}
        for pid in pids.values():
            pin(pid, args.cpu)
        cpu: dict[str, list[float]] = {}
        sizes: dict[str, int] = {}
        kinds = [(kind, "branch", KINDS[kind]) for kind in args.kinds.split(",")]
        if "main" in servers:
            kinds.append(("predict on main", "main", "/predict"))
        for r in range(args.rounds):
            for kind, server, path in kinds if r % 2 == 0 else kinds[::-1]:  # each order half of the time
                us, sizes[kind] = round_cpu(servers[server], pids[server], path, body, args.requests)
                cpu.setdefault(kind, []).append(us)
        print(f"\n{'kind':<20} {'server CPU us/request (median, min-max)':>40} {'x /predict (median of rounds)':>31} {'answer bytes':>13}")
        for kind, values in cpu.items():
            ratios = [v / p for v, p in zip(values, cpu["predict"])]
            print(f"{kind:<20} {statistics.median(values):>20.0f} ({min(values):.0f}-{max(values):.0f}){'':>8}"
                  f" {statistics.median(ratios):>20.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) {sizes[kind]:>10}")
        print(f"\nload after: {os.getloadavg()[0]:.2f}")
    finally:
        for server in servers.values():
            server.stop()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
