"""model/artifacts/card.py: the one model-card reader (server and registry) and the card written with the weights."""
import json
import logging

from model.artifacts.card import card_path_for, read_card, write_json_atomic


def test_read_card_returns_the_object_or_none_and_says_why(tmp_path, caplog):
    path = card_path_for(tmp_path / "mlp.npz")
    assert path.name == "mlp.json" and read_card(path) is None  # absent: nothing to say
    write_json_atomic(path, {"version": "v1", "test_accuracy": 0.99})
    assert read_card(path) == {"version": "v1", "test_accuracy": 0.99}
    with caplog.at_level(logging.WARNING, logger="model.artifacts.card"):
        path.write_text("{not json")
        assert read_card(path) is None
        path.write_text(json.dumps([1, 2]))
        assert read_card(path) is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        f"ignoring unreadable model card {path}", f"ignoring model card {path}"]
