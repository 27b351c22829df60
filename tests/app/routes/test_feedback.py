"""POST /feedback through the Flask test client: what is stored, and every way to get a 4xx."""
import base64
import io
import json
import sqlite3

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app import create_app
from app.settings import REPO_ROOT
from app.feedback.store import DB_FILENAME, FeedbackStore
from testkit.drawings import canvas_png, data_url, png_claiming_size
from tests.support.openapi_check import assert_matches_openapi

WEIGHTS = REPO_ROOT / "weights" / "mlp.npz"


def make_app(tmp_path, **config):
    return create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS),
                       "INSTANCE_PATH": str(tmp_path / "instance"), **config})


@pytest.fixture
def client(tmp_path):
    return make_app(tmp_path).test_client()


@pytest.fixture
def unlimited_client(tmp_path):
    return make_app(tmp_path, FEEDBACK_LIMIT="1000000/minute").test_client()


def stored(tmp_path):
    db = tmp_path / "instance" / DB_FILENAME
    return list(FeedbackStore(db).rows()) if db.exists() else []


def good(**changes):
    body = {"image": data_url(canvas_png("seven")), "label": 7, "predicted": 1, "confidence": 0.61,
            "model": "mlp-test"}
    body.update(changes)
    return body


def test_feedback_stores_what_the_model_saw_and_the_original(client, tmp_path):
    prediction = client.post("/predict", json={"image": good()["image"]}).json
    response = client.post("/feedback", json=good(predicted=prediction["digit"],
                                                   confidence=prediction["confidence"],
                                                   model=prediction["model"]))
    assert response.status_code == 201, response.json
    assert_matches_openapi("/feedback", "post", 201, response.json)
    [row] = stored(tmp_path)
    assert row.id == response.json["id"]
    assert (row.label, row.predicted, row.model_version) == (7, prediction["digit"], prediction["model"])
    assert row.confidence == pytest.approx(prediction["confidence"])
    preview = base64.b64decode(prediction["preview"].split(",", 1)[1])
    np.testing.assert_array_equal(row.seen, np.asarray(Image.open(io.BytesIO(preview))))  # same 28x28
    original = Image.open(io.BytesIO(row.original))
    assert original.size == (280, 280) and original.format == "PNG"


def test_client_address_is_not_stored(client, tmp_path):
    assert client.post("/feedback", json=good(), environ_base={"REMOTE_ADDR": "203.0.113.77"}).status_code == 201
    files = b"".join(p.read_bytes() for p in (tmp_path / "instance").glob(DB_FILENAME + "*"))
    assert b"203.0.113.77" not in files
    conn = sqlite3.connect(tmp_path / "instance" / DB_FILENAME)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(feedback)")}
    assert not columns & {"ip", "address", "client", "user_agent"}


BAD_FIELDS = [
    ({"label": 10}, "invalid_label"),
    ({"label": -1}, "invalid_label"),
    ({"label": "7"}, "invalid_label"),
    ({"label": 7.0}, "invalid_label"),
    ({"label": True}, "invalid_label"),
    ({"label": None}, "invalid_label"),
    ({"predicted": 12}, "invalid_predicted"),
    ({"predicted": "one"}, "invalid_predicted"),
    ({"confidence": 1.5}, "invalid_confidence"),
    ({"confidence": "high"}, "invalid_confidence"),
    ({"confidence": False}, "invalid_confidence"),
    ({"model": 3}, "invalid_model"),
    ({"model": ""}, "invalid_model"),
    ({"model": "x" * 101}, "invalid_model"),
    ({"image": 42}, "malformed_request"),
    ({"image": "not base64 at all!"}, "undecodable_image"),
    ({"image": data_url(b"GIF89a truncated", "image/gif")}, "undecodable_image"),
]


@pytest.mark.parametrize("changes, code", BAD_FIELDS)
def test_bad_fields_are_400_and_nothing_is_stored(client, tmp_path, changes, code):
    response = client.post("/feedback", json=good(**changes))
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
    assert_matches_openapi("/feedback", "post", 400, response.json)
    assert stored(tmp_path) == []


def test_missing_fields_are_400(client, tmp_path):
    for name in ("image", "label", "predicted", "confidence", "model"):
        body = good()
        del body[name]
        response = client.post("/feedback", json=body)
        assert response.status_code == 400 and name in response.json["error"]["message"]
    assert stored(tmp_path) == []


@pytest.mark.parametrize("kwargs, status, code", [
    (dict(data="{not json", content_type="application/json"), 400, "malformed_json"),
    (dict(data='{"confidence": NaN}', content_type="application/json"), 400, "missing_image"),
    (dict(json=[1, 2]), 400, "malformed_request"),
    (dict(data=canvas_png(), content_type="image/png"), 415, "unsupported_media_type"),
    (dict(json=good(image=data_url(png_claiming_size(5000, 5000)))), 413, "too_many_pixels"),
    (dict(json=good(image=data_url(canvas_png(), "image/svg+xml"))), 415, "unsupported_media_type"),
    (dict(json=good(image="data:image/png;base64,")), 400, "undecodable_image"),
])
def test_malformed_requests_are_4xx(client, tmp_path, kwargs, status, code):
    response = client.post("/feedback", **kwargs)
    assert response.status_code == status and response.json["error"]["code"] == code
    assert stored(tmp_path) == []


def test_nan_confidence_is_refused(client, tmp_path):
    body = good()
    raw = ('{"image": "%s", "label": 7, "predicted": 1, "confidence": NaN, "model": "m"}' % body["image"])
    response = client.post("/feedback", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_confidence"
    assert stored(tmp_path) == []


def test_an_empty_drawing_is_422(client, tmp_path):
    blank = io.BytesIO()
    Image.new("RGBA", (280, 280), (0, 0, 0, 0)).save(blank, "PNG")
    response = client.post("/feedback", json=good(image=data_url(blank.getvalue())))
    assert response.status_code == 422 and response.json["error"]["code"] == "empty_image"
    assert stored(tmp_path) == []


def test_oversized_body_is_413(tmp_path):
    client = make_app(tmp_path, MAX_CONTENT_LENGTH=20_000).test_client()
    big = data_url(b"\x89PNG" + bytes(40_000))
    response = client.post("/feedback", json=good(image=big))
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"
    assert stored(tmp_path) == []


def test_flood_from_one_client_is_429_others_still_pass(tmp_path):
    client = make_app(tmp_path, FEEDBACK_LIMIT="3/minute").test_client()
    flood = {"REMOTE_ADDR": "198.51.100.1"}
    assert [client.post("/feedback", json=good(), environ_base=flood).status_code for _ in range(4)] == \
        [201, 201, 201, 429]
    response = client.post("/feedback", json=good(), environ_base=flood)
    assert response.json["error"]["code"] == "too_many_requests"
    assert_matches_openapi("/feedback", "post", 429, response.json)
    other = client.post("/feedback", json=good(), environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert other.status_code == 201
    assert len(stored(tmp_path)) == 4


def test_an_unwritable_store_is_503_not_a_crash(tmp_path):
    (tmp_path / "instance" / DB_FILENAME).mkdir(parents=True)  # cannot be opened as a database
    client = make_app(tmp_path).test_client()
    response = client.post("/feedback", json=good())
    assert response.status_code == 503 and response.json["error"]["code"] == "feedback_unavailable"
    assert client.post("/predict", json={"image": good()["image"]}).status_code == 200


def test_feedback_is_documented(client):
    doc = client.get("/openapi.json").json
    assert {"201", "400", "413", "415", "422", "429"} <= set(doc["paths"]["/feedback"]["post"]["responses"])


@pytest.mark.slow
def test_two_gunicorn_workers_store_every_feedback(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from testkit.live_server import LiveServer

    body = json.dumps(good()).encode()

    def send(_):
        resp = server.request("POST", "/feedback", body, {"Content-Type": "application/json"})
        return resp.status, json.loads(resp.body)

    with LiveServer(tmp_path / "gunicorn.log") as server, ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(24)))  # under the per-worker flood limit of 30
    assert [status for status, _ in answers] == [201] * 24
    ids = sorted(answer["id"] for _, answer in answers)
    assert ids == [row.id for row in stored(tmp_path)] and len(set(ids)) == 24


def test_a_large_photo_of_a_drawing_is_kept_shrunk(client, tmp_path):
    photo = Image.open(io.BytesIO(canvas_png("seven", style="dark_on_light", size=2400))).convert("RGB")
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=95)
    response = client.post("/feedback", json=good(image=data_url(buf.getvalue(), "image/jpeg")))
    assert response.status_code == 201, response.json
    [row] = stored(tmp_path)
    kept = Image.open(io.BytesIO(row.original))
    assert kept.format == "PNG" and max(kept.size) <= 1024 and len(row.original) <= 256 * 1024
    assert row.seen.max() == 255  # the digit itself reached the model


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(["image", "label", "predicted", "confidence", "model", "x"]),
                               JSON_VALUES, max_size=4),
       drop=st.sets(st.sampled_from(["image", "label", "predicted", "confidence", "model"]), max_size=2))
def test_any_json_gets_201_or_a_4xx_never_a_5xx(unlimited_client, changes, drop):
    body = {k: v for k, v in good(**changes).items() if k not in drop}
    response = unlimited_client.post("/feedback", json=body)
    assert response.is_json and (response.status_code == 201 or 400 <= response.status_code < 500), \
        (response.status_code, response.json)
