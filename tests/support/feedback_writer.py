"""A separate process writing feedback rows, for the multi-process tests.

python -m tests.support.feedback_writer DB COUNT [--start-at T]   insert COUNT rows, print their ids
                                                                  (DB: a SQLite file or a postgresql:// URL)
python -m tests.support.feedback_writer DB COUNT --hold            insert COUNT rows in one open
                                                                  transaction, say so, wait to be killed
"""
import argparse
import io
import sys
import time

import numpy as np
from PIL import Image

from app.feedback.postgres import PostgresFeedbackStore
from app.feedback.store import FeedbackStore, open_connection, transaction


def tiny_png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (40, 40), value % 256).save(buf, format="PNG")
    return buf.getvalue()


def row_values(i: int) -> dict:
    seen = np.full((28, 28), i % 256, dtype=np.uint8)
    return dict(label=i % 10, predicted=(i + 1) % 10, confidence=0.5, model_version=f"w{i}",
                seen=seen, original_png=tiny_png(i))


def open_store(target: str) -> FeedbackStore | PostgresFeedbackStore:
    """The store at `target`: a PostgreSQL URL, or a SQLite file path."""
    return PostgresFeedbackStore(target) if target.startswith("postgresql://") else FeedbackStore(target)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("count", type=int)
    parser.add_argument("--start-at", type=float, default=0.0, help="time.time() to start writing at")
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args()
    store = open_store(args.db)
    if args.hold:
        conn = open_connection(args.db)
        with transaction(conn):
            for i in range(args.count):
                v = row_values(i)
                conn.execute(
                    "INSERT INTO feedback (created_at, label, predicted, confidence, model_version,"
                    " seen, original) VALUES ('now', ?, ?, ?, ?, ?, ?)",
                    (v["label"], v["predicted"], v["confidence"], v["model_version"],
                     v["seen"].tobytes(), v["original_png"]),
                )
            print("inserted", flush=True)
            time.sleep(600)  # killed here, before COMMIT
        return
    time.sleep(max(0.0, args.start_at - time.time()))
    for i in range(args.count):
        print(store.add(**row_values(i)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
