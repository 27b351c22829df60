"""``python -m model.cli.study``: the table on stdout and in --out, one BLAS thread by default."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_study_command_writes_the_table(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = tmp_path / "table.md"
    done = subprocess.run([sys.executable, "-m", "model.cli.study", "--epochs", "1", "--seeds", "1", "--limit", "500",
                           "--val-size", "100", "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    table = out.read_text()
    assert table.startswith("| hidden | batch | LR decay |") and len(table.splitlines()) == 2 + 24 + 2
    assert "24 runs of 1 epochs" in table and "1 BLAS thread(s)." in table
    assert table.strip() == done.stdout.strip()
    assert len(done.stderr.splitlines()) == 24  # one progress line per run
