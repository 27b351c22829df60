"""model/nn/metrics.py: the classification report and the loss against hand computations."""
import numpy as np

from model.nn.layers import SoftmaxLossLayer
from model.nn.metrics import classification_report, loss_and_accuracy
from model.nn.network import MLP


def test_classification_report_matches_a_hand_count():
    model = MLP(input_size=784, hidden_sizes=(8,), seed=0)
    x = np.random.default_rng(0).random((50, 784), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 10, 50)
    report = classification_report(model, x, y)
    predicted = model.predict(x)
    assert report["accuracy"] == np.mean(predicted == y)
    cm = np.array(report["confusion_matrix"])
    for t, p in zip(y, predicted):
        cm[t, p] -= 1
    assert not cm.any()


def test_loss_and_accuracy_agree_with_the_loss_layer_and_a_direct_formula():
    """Both use model.nn.layers.log_sum_exp; huge logits stay finite."""
    model = MLP(input_size=784, hidden_sizes=(8,), seed=0)
    x = np.random.default_rng(0).random((40, 784), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 10, 40)
    loss, acc = loss_and_accuracy(model, x, y, batch_size=16)
    logits = model.forward(x).astype(np.float64)
    direct = np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(40), y])
    assert abs(loss - direct) < 1e-5 and acc == np.mean(logits.argmax(axis=1) == y)
    assert abs(SoftmaxLossLayer().forward(model.forward(x), y) - loss) < 1e-5
    huge = np.array([[1e4, 0.0, -1e4]], dtype=np.float32)
    assert np.isfinite(SoftmaxLossLayer().forward(huge, np.array([2])))
