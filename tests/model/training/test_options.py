"""model/training/options.py: the training flags, --quick, and their errors."""
import re

import pytest

from model.cli.train import build_parser
from model.training.options import config_from_args, parse_training_argv


@pytest.mark.parametrize("flags, message", [
    (["--dropout", "1.5"], "dropout"),
    (["--lr", "-1"], "learning rate"),
    (["--augment", "off", "--aug-scale", "0.9,1.1"], "--augment is off"),
    (["--augment", "on", "--aug-shear", "-1"], "shear"),
])
def test_invalid_flags_give_clear_messages(flags, message, capsys):
    args = build_parser().parse_args(flags)
    with pytest.raises(ValueError, match=message):
        config_from_args(args)
    with pytest.raises(SystemExit) as stopped:  # the command line: exit 2 and the same message
        parse_training_argv(build_parser(), flags)
    assert stopped.value.code == 2 and re.search(message, capsys.readouterr().err)


def test_quick_preset_can_be_overridden():
    _, config = parse_training_argv(build_parser(), ["--quick", "--epochs", "2"])
    assert config.epochs == 2 and config.hidden == (256, 128)
    assert config.optimizer == "sgd" and config.lr == 0.1 and config.augment is None
