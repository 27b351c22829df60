"""Training speed of the NumPy MLP (784-256-128-10, batch 128): ``python -m bench.train_speed``.

Measures, with the same BLAS thread count throughout:
- the pure matrix-product time of one epoch (the 3 forward + 5 backward products of
  every step, into preallocated arrays), i.e. the floor the training loop can reach;
- the real epoch time of ``model.training.loop.train`` (median over several epochs and runs);
- their ratio (the loop's overhead; target <= 1.5), FLOPs per epoch and GFLOP/s;
- the time to 98% test accuracy of the reference recipe and of the --quick preset;
- the same model in PyTorch (CPU) when torch is importable (never a requirement).
Not a test: figures depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # before NumPy is imported: OpenBLAS reads its spin setting once
    from model.training.blas import prepare_environment

    prepare_environment()

import argparse
import statistics
import time
from typing import Any

import numpy as np

from model.training import blas
from model.data.mnist import load_mnist
from model.training.config import QUICK, REFERENCE, TrainConfig
from model.training.loop import Split, as_features, as_labels, train

SIZES = (784, 256, 128, 10)


def step_products(batch: int, sizes=SIZES) -> list[tuple[int, int, int]]:
    """(m, k, n) of every product of one training step: forward, then backward.

    Backward: dW of every layer, dx of every layer but the first (its input is the pixels).
    """
    layers = list(zip(sizes[:-1], sizes[1:]))
    forward = [(batch, n_in, n_out) for n_in, n_out in layers]
    backward = []
    for i, (n_in, n_out) in reversed(list(enumerate(layers))):
        backward.append((n_in, batch, n_out))  # dW = x.T @ grad
        if i > 0:
            backward.append((batch, n_out, n_in))  # dx = grad @ W.T
    return forward + backward


def epoch_batches(n: int, batch: int) -> list[int]:
    return [min(batch, n - s) for s in range(0, n, batch)]


def flops_per_epoch(n: int, batch: int) -> int:
    return sum(2 * m * k * p for b in epoch_batches(n, batch) for m, k, p in step_products(b))


def matmul_epoch_seconds(n: int, batch: int, repeats: int = 1) -> float:
    """Median time of one epoch's products alone, with the real transposed operands."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(SIZES[:-1], SIZES[1:])]
    grads = [np.empty_like(w) for w in weights]

    def buffers(b: int):
        acts = [rng.random((b, s), dtype=np.float32) for s in SIZES]
        deltas = [rng.standard_normal((b, s)).astype(np.float32) for s in SIZES]
        return acts, deltas

    sets = {b: buffers(b) for b in set(epoch_batches(n, batch))}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for b in epoch_batches(n, batch):
            acts, deltas = sets[b]
            for i, w in enumerate(weights):  # forward
                np.matmul(acts[i], w, out=acts[i + 1])
            for i in reversed(range(len(weights))):  # backward
                np.matmul(acts[i].T, deltas[i + 1], out=grads[i])
                if i > 0:
                    np.matmul(deltas[i + 1], weights[i].T, out=deltas[i])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_config(**changes: Any) -> TrainConfig:
    base = dict(REFERENCE, hidden=SIZES[1:-1], batch_size=128, momentum=0.9, nesterov=True,
                schedule="cosine", weight_decay=1e-4, keep_best=False)
    return TrainConfig(**{**base, **changes})


def numpy_epoch_seconds(split: Split, seed: int) -> float:
    """One epoch of model.training.loop.train (validation excluded)."""
    _, history = train(reference_config(epochs=1, seed=seed), split, progress=False)
    return history["epochs"][0]["train_seconds"]


def time_to_accuracy(history: dict[str, Any], target: float) -> tuple[float | None, int | None]:
    """Training seconds until the first epoch whose held-out accuracy reaches target."""
    total = 0.0
    for r in history["epochs"]:
        total += r["train_seconds"]
        if r["val_accuracy"] >= target:
            return total, r["epoch"]
    return None, None


def phase_profile(split: Split, epochs: int = 3) -> list[tuple[str, float, float]]:
    """Where an epoch of the real loop goes: (phase, seconds, share) of the median of ``epochs`` epochs.

    The layer, loss and optimiser methods and the batch generator are wrapped with a timer
    where ``model.training.loop.train`` calls them (a few hundred nanoseconds per call of overhead);
    "the rest" is the loop itself (schedule, running loss and accuracy, Python glue).
    """
    import model.nn.layers as layers
    import model.nn.optim as optim
    import model.training.loop as train_module

    spent: dict[str, float] = {}
    clock = time.perf_counter

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + clock() - start

        return wrapper

    def timed_batches(fn):
        def wrapper(*args, **kwargs):
            batches = fn(*args, **kwargs)
            while True:
                start = clock()
                batch = next(batches, None)
                spent["gather the batch (np.take into buffers)"] = (
                    spent.get("gather the batch (np.take into buffers)", 0.0) + clock() - start)
                if batch is None:
                    return
                yield batch

        return wrapper

    patches = [
        (layers.FullyConnectedLayer, "forward", "forward products + bias adds"),
        (layers.FullyConnectedLayer, "backward", "backward products + bias sums"),
        (layers.ReLULayer, "forward", "ReLU forward"),
        (layers.ReLULayer, "backward", "ReLU backward"),
        (layers.SoftmaxLossLayer, "forward", "softmax + loss"),
        (layers.SoftmaxLossLayer, "backward", "loss gradient"),
        (optim.SGD, "step", "optimiser step (SGD)"),
        (optim.Adam, "step", "optimiser step (Adam)"),
    ]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    original_batches = train_module._batches
    for owner, attr, name in patches:
        setattr(owner, attr, timed(name, getattr(owner, attr)))
    train_module._batches = timed_batches(original_batches)
    split = split._replace(val_x=split.val_x[:1], val_y=split.val_y[:1])  # time training, not validation
    runs = []
    try:
        for seed in range(epochs):
            spent.clear()
            total = numpy_epoch_seconds(split, seed)
            runs.append((total, dict(spent)))
    finally:
        for owner, attr, fn in originals:
            setattr(owner, attr, fn)
        train_module._batches = original_batches
    total, parts = sorted(runs, key=lambda run: run[0])[len(runs) // 2]  # the median epoch
    rows = [(name, parts[name]) for name in [*(n for _, _, n in patches), "gather the batch (np.take into buffers)"]
            if name in parts]
    rows.append(("the rest (loop, schedule, accuracy, timers)", total - sum(t for _, t in rows)))
    return [(name, t, t / total) for name, t in rows] + [("whole epoch", total, 1.0)]


def per_step_medians(split: Split, epochs: int = 5) -> tuple[float, float]:
    """Median seconds of one full-batch step: (the 8 products alone, the real loop).

    Less sensitive to bursts of load from other processes than whole epochs: a burst
    spoils some steps, not the median. The real loop is timed through its progress hook,
    so the step includes everything ``model.training.loop.train`` does between two updates.
    """
    from model.training.progress import SilentProgress

    class StepClock(SilentProgress):
        def __init__(self) -> None:
            self.times: list[float] = []

        def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
            self.times.append(time.perf_counter())

        def update(self, step: int, loss: float, accuracy: float) -> None:
            self.times.append(time.perf_counter())

    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(SIZES[:-1], SIZES[1:])]
    grads = [np.empty_like(w) for w in weights]
    acts = [rng.random((128, s), dtype=np.float32) for s in SIZES]
    deltas = [rng.standard_normal((128, s)).astype(np.float32) for s in SIZES]
    steps = len(split.train_x) // 128
    products, real = [], []
    for seed in range(epochs):
        for _ in range(steps):
            start = time.perf_counter()
            for i, w in enumerate(weights):
                np.matmul(acts[i], w, out=acts[i + 1])
            for i in reversed(range(len(weights))):
                np.matmul(acts[i].T, deltas[i + 1], out=grads[i])
                if i > 0:
                    np.matmul(deltas[i + 1], weights[i].T, out=deltas[i])
            products.append(time.perf_counter() - start)
        clock = StepClock()
        train(reference_config(epochs=1, seed=seed), split._replace(val_x=split.val_x[:1], val_y=split.val_y[:1]),
              progress=clock)
        real.extend(np.diff(clock.times)[:steps])
    return statistics.median(products), statistics.median(real)


def torch_epoch_runner(x: np.ndarray, y: np.ndarray, threads: int):
    """A function that trains the same model in PyTorch for one epoch and returns the seconds."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    gen = torch.Generator().manual_seed(0)

    def epoch() -> float:
        start = time.perf_counter()
        order = torch.randperm(len(tx), generator=gen)
        for s in range(0, len(tx), 128):
            idx = order[s : s + 128]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(tx[idx]), ty[idx]).backward()
            opt.step()
        return time.perf_counter() - start

    return epoch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: every core)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds (products-only epoch, NumPy epoch, PyTorch epoch)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--phases", action="store_true",
                        help="only the per-phase breakdown of the real epoch (3 epochs, medians)")
    parser.add_argument("--per-step", action="store_true",
                        help="only the median step time, products alone vs the real loop (5 epochs each)")
    args = parser.parse_args()
    blas.set_threads(args.threads)
    threads = blas.current_threads()

    mnist = load_mnist(progress=False)
    x = as_features(mnist.train_images)
    y = as_labels(mnist.train_labels, len(x))
    test_x, test_y = as_features(mnist.test_images), as_labels(mnist.test_labels, 10000)
    # All 60,000 images train; the "validation" of this split is the test set, so that
    # each epoch's record carries the test accuracy (nothing is selected with it here).
    split = Split(x, y, test_x, test_y)
    n, batch = len(x), 128
    config = reference_config()
    optimiser = (f"{config.optimizer.upper()}"
                 + (f" {'Nesterov ' if config.nesterov else ''}momentum {config.momentum}" if config.optimizer == "sgd" else "")
                 + f", lr {config.lr} {config.schedule}, weight decay {config.weight_decay}")
    print(f"optimiser of the timed epochs: {optimiser} (the --quick and reference recipes' optimiser; "
          "the shipped 800-800 model trains with Adam)", file=sys.stderr)
    if args.per_step:
        products, real = per_step_medians(split)
        print(f"median full-batch step ({threads} BLAS thread(s); {optimiser}): products alone "
              f"{products * 1e6:.0f} us, real loop {real * 1e6:.0f} us, ratio {real / products:.2f}x "
              f"(load average {os.getloadavg()[0]:.1f})")
        return 0
    if args.phases:
        print(f"## One epoch of `model.training.loop.train`, by phase ({threads} BLAS thread(s); {optimiser})\n")
        print("| phase | seconds per epoch | share |\n| --- | --- | --- |")
        phases = phase_profile(split)
        for name, seconds, share in phases:
            print(f"| {name} | {seconds:.3f} | {share:.0%} |")
        mm = matmul_epoch_seconds(n, batch, repeats=3)
        print(f"| (the 8 products alone, same shapes, median of 3) | {mm:.3f} | {mm / phases[-1][1]:.0%} |")
        return 0

    flops = flops_per_epoch(n, batch)
    torch_epoch = None if args.no_torch else torch_epoch_runner(x, y, threads)
    # Interleaved, so that a burst of load from other jobs hits all three alike.
    rounds = []
    for r in range(args.rounds):
        rounds.append((matmul_epoch_seconds(n, batch), numpy_epoch_seconds(split, seed=r),
                       torch_epoch() if torch_epoch else None))
        print(f"round {r + 1}: " + ", ".join("-" if t is None else f"{t:.3f}s" for t in rounds[-1]),
              file=sys.stderr)
    mm = statistics.median(r[0] for r in rounds)
    epoch = statistics.median(r[1] for r in rounds)
    ratio = statistics.median(r[1] / r[0] for r in rounds)
    _, history = train(reference_config(), split, progress=False)
    t98, e98 = time_to_accuracy(history, 0.98)
    quick_start = time.perf_counter()
    _, quick_history = train(TrainConfig(**QUICK), split, progress=False)
    quick_wall = time.perf_counter() - quick_start
    quick_acc = quick_history["epochs"][-1]["val_accuracy"]

    def rate(seconds: float) -> str:
        return f"{flops / seconds / 1e9:.1f}"

    print(f"## Training speed ({', '.join(map(str, SIZES))}; batch {batch}; {n} images/epoch; "
          f"{threads} BLAS thread(s))\n")
    print("| measure | value |\n| --- | --- |")
    print(f"| optimiser in the timed epochs | {optimiser} (as `--quick`) |")
    print(f"| products per step | {len(step_products(batch))} (3 forward, 5 backward) |")
    print(f"| FLOPs per epoch (products) | {flops / 1e9:.1f} GFLOP |")
    print(f"| pure product time per epoch (median of {len(rounds)}) | {mm:.3f} s ({rate(mm)} GFLOP/s) |")
    print(f"| real epoch time, `model.training.loop.train` (median of {len(rounds)}) | {epoch:.3f} s "
          f"({rate(epoch)} GFLOP/s) |")
    print(f"| real / pure products (median of the per-round ratios) | {ratio:.2f}x |")
    print(f"| per round: products / NumPy epoch (s) | "
          f"{', '.join(f'{r[0]:.2f} / {r[1]:.2f}' for r in rounds)} |")
    if t98 is None:
        print("| reference recipe (15 epochs, cosine) | never reached 98% test accuracy |")
    else:
        print(f"| reference recipe: time to 98% test accuracy | {t98:.1f} s (epoch {e98}); final "
              f"{history['epochs'][-1]['val_accuracy']:.2%} after {history['train_seconds']:.1f} s |")
    print(f"| --quick preset ({QUICK['epochs']} epochs) | {quick_acc:.2%} test accuracy, "
          f"{quick_wall:.1f} s wall |")
    if torch_epoch is None:
        print("| PyTorch CPU | not measured (torch not importable or --no-torch) |")
    else:
        import torch

        t = statistics.median(r[2] for r in rounds)
        print(f"| PyTorch {torch.__version__} CPU, same model/batch/optimiser, {threads} thread(s) | "
              f"{t:.3f} s per epoch (median of {len(rounds)}): NumPy / PyTorch = "
              f"{statistics.median(r[1] / r[2] for r in rounds):.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
