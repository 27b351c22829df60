"""Augmentation speed: images/second for one 128-image batch and for all 60k training images,
and how much of it BackgroundBatches hides behind a training-like compute load.

    python -m bench.augment_speed [--repeats 7]

Reports medians (the machine is shared and noisy). Needs MNIST (fetched like model.data does).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


from model.training.augment import AugmentConfig, BackgroundBatches, augment_batch  # noqa: E402
from model.data.mnist import load_mnist  # noqa: E402


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved_medians(fns: dict, rounds: int) -> dict[str, tuple[float, float]]:
    """Run the variants in turn, `rounds` times, so that machine load hits them alike."""
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(timed(fn))
    return {name: tuple(statistics.median(col) for col in zip(*runs)) for name, runs in samples.items()}


def fake_training_step(x: np.ndarray, weights: list[np.ndarray]) -> None:
    """The matrix products of one SGD step of a 784-256-128-10 ReLU MLP (no update)."""
    activations = [x]
    for w in weights:
        activations.append(np.maximum(activations[-1] @ w, 0))
    grad = activations[-1]
    for w, a in zip(reversed(weights), reversed(activations[:-1])):
        _ = a.T @ grad  # weight gradient
        grad = (grad @ w.T) * (a > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    mnist = load_mnist(progress=False)
    train = mnist.train_images.reshape(-1, 784).astype(np.float32) / 255.0
    config = AugmentConfig()
    rng = np.random.default_rng(0)
    batch = train[:128]

    augment_batch(batch, rng, config)  # warm-up (basis cache, page faults)
    speed = interleaved_medians({
        "128": lambda: augment_batch(batch, rng, config),
        "60000": lambda: augment_batch(train, rng, config),
    }, args.repeats)
    for name, (wall, cpu) in speed.items():
        n = int(name)
        print(f"augment_batch {n:>5} images: {wall * 1e3:8.1f} ms wall ({n / wall:7,.0f} images/s), "
              f"{cpu * 1e3:8.1f} ms CPU ({n / cpu:7,.0f} images/s per CPU-second)")

    # Overlap: 100 batches of 128, each followed by an SGD-step's worth of matrix products,
    # with the augmentation inline or prepared by BackgroundBatches in a thread.
    wrng = np.random.default_rng(1)
    weights = [wrng.standard_normal(s).astype(np.float32) * 0.05 for s in ((784, 256), (256, 128), (128, 10))]
    images, labels = mnist.train_images[:12800], mnist.train_labels[:12800]

    def step_only():
        for start in range(0, len(images), 128):
            fake_training_step(train[start:start + 128], weights)

    def inline():
        r = np.random.default_rng(2)
        for start in range(0, len(images), 128):
            fake_training_step(augment_batch(train[start:start + 128], r, config), weights)

    def prefetched():
        for x, _ in BackgroundBatches(images, labels, 128, np.random.default_rng(2), config):
            fake_training_step(x, weights)

    epoch = interleaved_medians({"compute only": step_only, "inline augmentation": inline,
                                 "BackgroundBatches": prefetched}, args.repeats)
    for name, (wall, cpu) in epoch.items():
        print(f"100 batches of 128, {name:>20}: {wall:6.2f} s wall, {cpu:6.2f} s CPU")


if __name__ == "__main__":
    main()
