"""model/training/study.py: the lab's grid on a small slice of the real MNIST."""
import io
import itertools

import pytest

from model.training.study import BATCHES, DECAYS, SIZES, markdown_table, run_study, study_configs


def test_every_configuration_shares_the_budget_and_differs_only_where_the_study_says():
    configs = study_configs(epochs=3, lr=0.05, seed=1)
    assert len(configs) == len(SIZES) * len(BATCHES) * len(DECAYS) * 2 == 24
    assert {(c.hidden, c.batch_size, c.schedule, c.keep_best) for c in configs} == {
        (h, b, d, k) for h, b, d, k in itertools.product(SIZES, BATCHES, DECAYS, (False, True))}
    assert {(c.epochs, c.lr, c.seed, c.optimizer, c.augment, c.weight_decay) for c in configs} == {
        (3, 0.05, 1, "sgd", None, 0.0)}


@pytest.fixture(scope="module")
def rows(mnist):
    log = io.StringIO()
    out = run_study(mnist, epochs=2, lr=0.05, seeds=[0, 1], val_size=100, limit=600, log=log)
    return out, log.getvalue()


def test_a_tiny_study_runs_every_configuration_per_seed_and_learns(rows):
    out, log = rows
    assert len(out) == 48 and len(log.splitlines()) == 48
    for r in out:
        assert r["seed"] in (0, 1) and 1 <= r["kept_epoch"] <= 2
        if not r["keep_best"]:
            assert r["kept_epoch"] == 2  # the last epoch's parameters
        assert 0.3 < r["test_accuracy"] <= 1 and 0.3 < r["val_accuracy"] <= 1 and r["seconds"] > 0
    # keep-best picks the epoch with the best validation accuracy: never below the last epoch's
    by_key = {(r["hidden"], r["batch"], r["decay"], r["seed"], r["keep_best"]): r for r in out}
    for (h, b, d, s, kb), r in by_key.items():
        if kb:
            assert r["val_accuracy"] >= by_key[(h, b, d, s, False)]["val_accuracy"]


def test_the_table_has_one_line_per_configuration_with_mean_and_spread(rows):
    out, _ = rows
    lines = markdown_table(out).splitlines()
    assert len(lines) == 2 + 24
    assert lines[2].startswith("| 32-16 | 100 | none | no | 2/2 |") and "±" in lines[2]
    assert sum("step ×0.5 / 2 ep" in line for line in lines) == 12
