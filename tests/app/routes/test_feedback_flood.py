"""A flood of /feedback from one client: refused before anything is stored, the address kept nowhere on disk."""
from testkit.drawings import canvas_png, data_url
from tests.app.routes.test_feedback import good, make_app, stored

ADDRESS = "198.51.100.77"


def test_flood_is_refused_before_storing_and_no_address_reaches_disk(tmp_path):
    client = make_app(tmp_path, FEEDBACK_LIMIT="5/minute").test_client()
    flood = {"REMOTE_ADDR": ADDRESS}
    statuses = [client.post("/feedback", json=good(image=data_url(canvas_png("seven"))), environ_base=flood).status_code
                for _ in range(20)]
    assert statuses == [201] * 5 + [429] * 15
    assert len(stored(tmp_path)) == 5
    for path in (tmp_path / "instance").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert ADDRESS.encode() not in data and ADDRESS.encode("utf-16-le") not in data, path
