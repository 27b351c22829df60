"""gunicorn settings for serving Digit Canvas: `gunicorn -c app/deploy/gunicorn_conf.py "app:create_app()"`.

The work per request is CPU-bound NumPy and Pillow code, so one worker process per core,
each with single-threaded BLAS (several BLAS threads per worker would only fight over the
same cores). Every setting comes from app.settings.Settings (HOST, PORT, WEB_CONCURRENCY (workers),
GUNICORN_THREADS, GUNICORN_MAX_REQUESTS, ...), read once here; PROMETHEUS_MULTIPROC_DIR (where
workers share their metrics; default: a temporary folder) stays an environment variable because
prometheus_client reads it itself.
"""
import atexit
import glob
import os
import shutil
import tempfile

# Must be set before any worker imports NumPy: the master reads this file first, workers inherit it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ["FLASK_DEBUG"] = "0"  # never Flask's debug mode (tracebacks, pretty JSON) in production

from app.settings import Settings  # noqa: E402 - standard library only: NumPy is not loaded here

SETTINGS = Settings.from_env()
bind = SETTINGS.bind
workers = SETTINGS.workers
# gthread keeps client connections alive (the sync worker closes each one after a response);
# a second thread lets one request read its body while another computes. Our subclass gives
# each request one deadline for arriving (GUNICORN_REQUEST_READ_TIMEOUT, default 10 s), so
# slow or stalled clients cannot hold every thread (app/deploy/gunicorn_worker.py, docs/operator.md).
worker_class = "app.deploy.gunicorn_worker.DeadlineThreadWorker"
threads = SETTINGS.threads
# Open connections per worker. Slow clients cost no thread (the event loop buffers each request,
# at most 1 MB of it), so this is the number of slow clients a worker rides out before new
# connections queue in the listen backlog; it also bounds that buffer memory (200 MB per worker).
worker_connections = SETTINGS.worker_connections
keepalive = 5
timeout = 30  # a worker whose main loop is stuck this long (e.g. a runaway request) is restarted
graceful_timeout = 10
# Worker recycling: a fresh process now and then bounds any slow leak (Pillow, NumPy caches);
# the jitter keeps the workers from restarting all at once. A new worker costs ~0.5 s of CPU
# (imports + model), so at 50000 requests (~2.5 ms each) recycling takes under 0.5% of the CPU.
max_requests = SETTINGS.max_requests
max_requests_jitter = max_requests // 10
# Request line and headers: a browser needs far less than gunicorn's defaults allow.
limit_request_line = 2048  # the longest "METHOD /path HTTP/1.1" line, in bytes
limit_request_fields = 50
limit_request_field_size = 8190
control_socket_disable = True  # one fixed socket path would clash between several servers
accesslog = None  # the app writes one JSON access line per request (app/middleware/access_log.py)
errorlog = "-"
loglevel = "info"
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def remove_in_process(path, pid):
    if os.getpid() == pid:  # the master only: forked workers inherit atexit handlers
        shutil.rmtree(path, ignore_errors=True)


# Workers share their metrics through files in this folder. It must be in the environment before
# anything imports prometheus_client (which picks its multiprocess mode once, at import), so it
# is set here, as the master reads this file, rather than in a hook.
if not os.environ.get(METRICS_DIR_ENV):
    os.environ[METRICS_DIR_ENV] = tempfile.mkdtemp(prefix="digit-canvas-metrics-")
    # atexit rather than on_exit: gunicorn skips on_exit when workers fail to boot.
    atexit.register(remove_in_process, os.environ[METRICS_DIR_ENV], os.getpid())


def when_ready(server):
    """Before the first worker starts (once, not on reloads): no counts left from an earlier run."""
    path = os.environ[METRICS_DIR_ENV]
    os.makedirs(path, exist_ok=True)
    for old in glob.glob(os.path.join(path, "*.db")):
        os.remove(old)


def child_exit(server, worker):
    """A dead worker's live gauges (its model version) leave /metrics; its counters stay."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """The app's log lines (and its JSON access lines) go to gunicorn's log, at INFO."""
    from app.middleware.logging_setup import configure_for_gunicorn

    configure_for_gunicorn(worker.log.error_log)


def on_starting(server):
    """Refuse to start without a servable model. Later, a worker replacing a crashed one starts
    even if the file went bad meanwhile (its /predict answers 503), so the others keep serving."""
    from app.serving.model_holder import ModelHolder
    from app.serving.shared_registry import open_registry

    weights = SETTINGS.weights_path
    registry = open_registry(SETTINGS.instance_path, weights, SETTINGS.database_url)
    servable = ModelHolder(weights, registry).current is not None
    getattr(registry, "close", lambda: None)()  # no database connection may be forked into the workers
    if not servable:
        raise SystemExit("not starting: no model can be served (see the error above)")


def post_worker_init(worker):
    """Say which model this worker serves, once, as it starts."""
    app = worker.wsgi
    if app.debug:  # e.g. a factory given DEBUG=True: tracebacks must never reach clients
        worker.log.warning("Flask debug mode refused under gunicorn")
        app.debug = False
    holder = app.extensions["model_holder"]
    model = holder.current
    if model is None:
        worker.log.error("worker %s has no model: %s", worker.pid, holder.refused)
        return
    worker.log.info(
        "worker %s serving model %s (sha256 %s) from %s", worker.pid, model.version, model.sha256, model.path
    )
