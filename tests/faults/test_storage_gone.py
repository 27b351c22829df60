"""The instance folder (with the feedback database) deleted at run time, then restored from a backup:
/feedback answers 503 JSON meanwhile and stores nothing anywhere, /predict is unaffected, and the
restored database takes feedback again without a restart."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from app.feedback.store import DB_FILENAME
from testkit.drawings import canvas_png
from tests.support.openapi_check import assert_matches_openapi
from tests.support.faults import Load, fault_server, post_feedback, stored_markers


def backup(db, to) -> None:
    """SQLite's online backup: a consistent copy including what is still in the WAL."""
    src, dst = sqlite3.connect(db), sqlite3.connect(to)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.mark.slow
def test_a_deleted_database_is_503_until_restored_and_predict_is_unaffected(tmp_path):
    instance = tmp_path / "instance"
    db, saved = instance / DB_FILENAME, tmp_path / "backup.sqlite3"
    with fault_server(tmp_path, DIGIT_CANVAS_INSTANCE=str(instance)) as server, \
            Load(server, "/predict", canvas_png("seven"), "image/png", clients=2) as load:
        before = [post_feedback(server, f"before-{i}") for i in range(4)]
        assert [r.status for r in before] == [201] * 4
        backup(db, saved)
        shutil.rmtree(instance)
        during = [post_feedback(server, f"during-{i}") for i in range(4)]
        for response in during:
            body = json.loads(response.body)
            assert response.status == 503 and body["error"]["code"] == "feedback_unavailable", response
            assert_matches_openapi("/feedback", "post", 503, body)
        assert not instance.exists()  # no empty stand-in database was created
        load.wait_for_requests(20)
        instance.mkdir()
        shutil.copyfile(saved, db)  # the operator restores the backup
        after = [post_feedback(server, f"after-{i}") for i in range(4)]
        assert [r.status for r in after] == [201] * 4
        load.wait_for_requests(20)
    assert set(load.statuses()) == {200}
    assert set(stored_markers(db)) == {f"{when}-{i}" for when in ("before", "after") for i in range(4)}
