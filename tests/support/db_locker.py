"""Another process holding the feedback database's write lock, as a backup or a long admin job would.

python -m tests.support.db_locker DB SECONDS   BEGIN EXCLUSIVE, print "locked <t>", hold it SECONDS,
                                              COMMIT, print "released <t>" (t: CLOCK_MONOTONIC, which
                                              every process on the machine shares)
"""
import sqlite3
import sys
import time


def main() -> None:
    db, seconds = sys.argv[1], float(sys.argv[2])
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", time.monotonic(), flush=True)
    time.sleep(seconds)
    conn.execute("COMMIT")
    print("released", time.monotonic(), flush=True)
    conn.close()


if __name__ == "__main__":
    main()
