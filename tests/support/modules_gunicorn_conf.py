"""app/deploy/gunicorn_conf.py as it is, plus one hook: each worker, once it has loaded the app,
writes the names of its imported modules to $MODULES_OUT/<pid>.txt (what test_factory checks)."""
import os
import runpy
import sys

_conf = runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "..", "app", "deploy", "gunicorn_conf.py"))
globals().update({name: value for name, value in _conf.items() if not name.startswith("__")})
_post_worker_init = _conf["post_worker_init"]


def post_worker_init(worker):  # noqa: F811 - the deployment's hook, then the dump
    _post_worker_init(worker)
    with open(os.path.join(os.environ["MODULES_OUT"], f"{os.getpid()}.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(sorted(sys.modules)))
