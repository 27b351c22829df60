"""model/training/progress.py (on model/progress.py's StatusLine): a terminal redraws, a log gets lines."""
import io

from model.progress import StatusLine
from model.training.progress import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_redraws_on_a_terminal_and_writes_lines_to_a_log():
    record = {"epoch": 1, "lr": 0.1, "train_loss": 0.5, "train_accuracy": 0.9, "val_loss": 0.4,
              "val_accuracy": 0.91, "seconds": 2.0}
    for stream, live in ((_Terminal(), True), (io.StringIO(), False)):
        bar = ProgressBar(stream)
        bar.start_epoch(0, 3, steps=10)
        bar.update(10, 0.5, 0.9)
        bar.end_epoch(record, best=True)
        text = stream.getvalue()
        assert ("left" in text.split("\n")[0] and "\r" in text) == live
        assert text.rstrip("\n").splitlines()[-1].lstrip("\r").startswith("epoch 1/3 loss 0.5000 acc 90.00%")
        assert "val_acc 91.00%" in text and "*best*" in text and "(4s left)" in text


def test_a_status_line_throttles_redraws_on_a_terminal_and_stays_silent_in_a_log():
    live, log = StatusLine(_Terminal(), interval=60), StatusLine(io.StringIO(), interval=60)
    assert live.due() and not live.due() and live.due(force=True)  # then forced
    live.restart()
    assert live.due()
    assert not log.due(force=True)
    for line in (live, log):
        line.draw("half")
        line.finish("done")
    assert live.stream.getvalue() == "\rhalf\x1b[K\rdone\x1b[K\n" and log.stream.getvalue() == "done\n"
