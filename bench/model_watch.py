"""What watching the weights file costs a request: the per-request check between looks, a look
(stat of the registry pointer and of the served file), and a full reload of the shipped weights.

    python -m bench.model_watch [--repeats 5]

Reports medians (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


from app.serving.model_holder import ModelHolder  # noqa: E402
from app.serving.model_registry import ModelRegistry  # noqa: E402

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "mlp.npz"


def seconds_per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    registry = ModelRegistry.in_instance(Path(tempfile.mkdtemp()) / "instance", WEIGHTS)
    idle = ModelHolder(WEIGHTS, registry, check_interval=3600.0)
    idle.refresh()  # the first look; the next hour has none
    looking = ModelHolder(WEIGHTS, registry, check_interval=0.0)
    rows = [
        ("refresh() between looks (every request)", idle.refresh, 200_000, 1e9, "ns"),
        ("refresh() that looks (once a second per worker)", looking.refresh, 20_000, 1e6, "us"),
        ("reload() of the shipped weights (once per file change)", looking.reload, 20, 1e3, "ms"),
    ]
    for name, fn, n, scale, unit in rows:
        median = statistics.median(seconds_per_call(fn, n) for _ in range(args.repeats))
        print(f"{name}: {median * scale:.1f} {unit}")


if __name__ == "__main__":
    main()
