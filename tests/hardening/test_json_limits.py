"""JSON depth limit: flat request bodies pass, anything nested past MAX_JSON_DEPTH is malformed."""
import json

from app import create_app
from app.middleware.json_limits import MAX_JSON_DEPTH, json_depth
from testkit.drawings import canvas_png, data_url
from testkit.live_server import WEIGHTS


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_depth() -> None:
    assert [json_depth(v) for v in (1, "x", None, [], {}, [[1]], {"a": {"b": [2]}})] == [0, 0, 0, 1, 1, 2, 3]
    assert json_depth(json.loads(nested(500))) == 500


def test_depth_limit_applies_to_request_bodies(tmp_path) -> None:
    client = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path)}).test_client()
    image = data_url(canvas_png("one"))
    at_limit = '{"image": "%s", "extra": %s}' % (image, nested(MAX_JSON_DEPTH - 1))
    assert client.post("/predict", data=at_limit, content_type="application/json").status_code == 200
    too_deep = '{"image": "%s", "extra": %s}' % (image, nested(MAX_JSON_DEPTH))
    response = client.post("/predict", data=too_deep, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "malformed_json"
