"""Move one machine's instance folder into the shared PostgreSQL database (once, when going multi-server).

    python -m app.admin.to_postgres [--instance DIR] [--weights FILE] postgresql://...

Copies every feedback row (ids and times kept, so earlier exports still match), every trained
version with its card, and the promote/rollback history, ending on the version the folder serves.
All in one transaction: it either all arrives or nothing does. It refuses a database that
already holds feedback or versions, so running it twice cannot store anything twice. The folder
is only read; point the servers at the database (DIGIT_CANVAS_DATABASE_URL) afterwards.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from psycopg.types.json import Jsonb

from app.feedback.store import DB_FILENAME, FeedbackStore
from app.serving.model_registry import SHIPPED, ModelRegistry
from app.serving.shared_registry import REGISTRY_LOCK
from app.shared.database import Database, DatabaseUnavailable

log = logging.getLogger("app.admin")
REPO = Path(__file__).resolve().parents[2]
# A one-off copy run by the operator: a busy server (a backend slow to fork, a long INSERT of every
# drawing) is waited for, not taken for a dead one (the serving workers' 3 s connect timeout failed
# this command once on a machine at load 12).
ADMIN_TIMEOUT_S = 30


def move(instance: Path, weights: Path, url: str) -> tuple[int, int]:
    """Copy the folder's feedback and registry into the database; returns (rows, versions)."""
    registry = ModelRegistry.in_instance(instance, weights)
    db = Database(url, timeout_s=ADMIN_TIMEOUT_S, connect_timeout_s=ADMIN_TIMEOUT_S)
    db.migrate()
    has_feedback = (instance / DB_FILENAME).is_file()  # never create an empty one: the folder is only read
    rows = list(FeedbackStore.in_folder(instance).rows()) if has_feedback else []
    versions = registry.versions()
    with db.connect() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (REGISTRY_LOCK,))
        held = conn.execute("SELECT (SELECT count(*) FROM feedback), (SELECT count(*) FROM model_versions),"
                            " (SELECT count(*) FROM model_events)").fetchone()
        if any(held):
            raise SystemExit(f"error: {db.name} already holds {held[0]} drawings, {held[1]} versions and "
                             f"{held[2]} events; it takes a move only when empty")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO feedback (id, created_at, label, predicted, confidence, model_version, seen, original)"
                " OVERRIDING SYSTEM VALUE VALUES (%s, %s::timestamptz, %s, %s, %s, %s, %s, %s)",
                [(r.id, r.created_at, r.label, r.predicted, r.confidence, r.model_version, r.seen.tobytes(),
                  r.original) for r in rows],
            )
        # New rows continue after the moved ones.
        conn.execute("SELECT setval(pg_get_serial_sequence('feedback', 'id'), coalesce(max(id), 0) + 1, false)"
                     " FROM feedback")
        for version in versions:
            data = registry.path_of(version).read_bytes()
            card = registry.card(version) or None
            conn.execute("INSERT INTO model_versions (name, sha256, weights, card) VALUES (%s, %s, %s, %s)",
                         (version, hashlib.sha256(data).hexdigest(), data, Jsonb(card) if card else None))
        last = SHIPPED
        for event in registry.history():
            conn.execute("INSERT INTO model_events (at, action, version, previous, note)"
                         " VALUES (%s::timestamptz, %s, %s, %s, %s)",
                         (event["at"], event["action"], event["version"], event["previous"], event.get("note", "")))
            last = event["version"]
        active = registry.active_version()
        if active != last:  # the pointer was edited by hand: the database serves what the folder serves
            conn.execute("INSERT INTO model_events (action, version, previous, note) VALUES ('promote', %s, %s, %s)",
                         (active, last, f"moved from {instance}"))
    return len(rows), len(versions)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m app.admin.to_postgres", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", metavar="URL", help="postgresql://user:password@host/database")
    parser.add_argument("--instance", type=Path,
                        default=Path(os.environ.get("DIGIT_CANVAS_INSTANCE") or REPO / "instance"))
    parser.add_argument("--weights", type=Path,
                        default=Path(os.environ.get("DIGIT_CANVAS_WEIGHTS") or REPO / "weights" / "mlp.npz"))
    args = parser.parse_args(argv)
    try:
        rows, versions = move(args.instance, args.weights, args.url)
    except (DatabaseUnavailable, ValueError) as exc:
        log.error("%s", exc)
        return 1
    print(f"moved {rows} drawings and {versions} model versions from {args.instance} to the database")
    return 0


if __name__ == "__main__":
    sys.exit(main())
