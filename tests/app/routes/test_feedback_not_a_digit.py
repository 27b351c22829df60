"""/feedback accepts "this was not a digit" (label "not_a_digit", stored as 10), on old databases too."""
from __future__ import annotations

import sqlite3

import pytest
from jsonschema import Draft202012Validator

from app.feedback.store import NOT_A_DIGIT, FeedbackStore, migrate, open_connection
from tests.support.openapi_check import assert_matches_openapi
from tests.app.routes.test_feedback import client, good, stored  # noqa: F401  (fixtures)
from tests.support.feedback_writer import row_values


def test_not_a_digit_is_stored_as_label_10(client, tmp_path):  # noqa: F811
    body = good(label="not_a_digit", predicted=4, confidence=0.97)
    Draft202012Validator(client.get("/openapi.json").json["components"]["schemas"]["Feedback"]).validate(body)
    response = client.post("/feedback", json=body)
    assert response.status_code == 201, response.json
    assert_matches_openapi("/feedback", "post", 201, response.json)
    [row] = stored(tmp_path)
    assert (row.label, row.predicted) == (NOT_A_DIGIT, 4)
    ids, images, labels = FeedbackStore(tmp_path / "instance" / "feedback.sqlite3").arrays()
    assert labels.tolist() == [NOT_A_DIGIT] and images.shape == (1, 28, 28)


@pytest.mark.parametrize("label", [10, "not a digit", "NOT_A_DIGIT", "none"])
def test_other_spellings_are_400(client, tmp_path, label):  # noqa: F811
    response = client.post("/feedback", json=good(label=label))
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_label"
    assert "not_a_digit" in response.json["error"]["message"]
    assert stored(tmp_path) == []


def test_a_version_2_database_is_migrated_and_then_takes_label_10(tmp_path):
    db = tmp_path / "f.sqlite3"
    conn = open_connection(db)
    migrate(conn, target=2)
    v = row_values(3)
    insert = ("INSERT INTO feedback (created_at, label, predicted, confidence, model_version, seen, original)"
              " VALUES ('2024-01-01T00:00:00Z', ?, ?, ?, ?, ?, ?)")
    conn.execute(insert, (v["label"], v["predicted"], v["confidence"], v["model_version"], v["seen"].tobytes(),
                          v["original_png"]))
    with pytest.raises(sqlite3.IntegrityError):  # schema 2 refuses a 10
        conn.execute(insert, (10, 1, 0.5, "m", v["seen"].tobytes(), b"x"))
    conn.close()
    store = FeedbackStore(db)
    v10 = dict(row_values(5), label=NOT_A_DIGIT)
    new_id = store.add(**v10)
    rows = list(store.rows())
    assert [r.label for r in rows] == [3, NOT_A_DIGIT] and rows[-1].id == new_id
    indexes = {r[1] for r in sqlite3.connect(db).execute("PRAGMA index_list(feedback)")}
    assert {"feedback_by_model", "feedback_by_label"} <= indexes
