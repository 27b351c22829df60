"""Share of py-spy samples per function (inclusive and self) from collapsed stacks (--format raw).

    python bench/collapsed_summary.py OUT.*.txt [--top 60]

Used with bench/gunicorn_profile.sh for the profile of the whole request under gunicorn
(docs/benchmarks.md, request path, fifth round).
"""
from __future__ import annotations

import argparse
import collections
import re

SITE = re.compile(r" \(/.*?site-packages/| \(/.*?/(?=(app|model|bench)/)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for path in args.files:
        for line in open(path):
            stack, _, count = line.rstrip().rpartition(" ")
            n = int(count)
            frames = [SITE.sub(" (", frame) for frame in stack.split(";")]
            total += n
            for name in set(frames):  # a recursive function counts once per sample
                inclusive[name] += n
            own[frames[-1]] += n
    print("samples", total)
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title}")
        for name, n in counter.most_common(args.top):
            print(f"{100 * n / total:5.1f}%  {name[:150]}")


if __name__ == "__main__":
    main()
