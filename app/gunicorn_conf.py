"""gunicorn settings for serving Digit Canvas: `gunicorn -c app/gunicorn_conf.py "app:create_app()"`.

The work per request is CPU-bound NumPy and Pillow code, so one worker process per core,
each with single-threaded BLAS (several BLAS threads per worker would only fight over the
same cores). Environment: HOST, PORT, WEB_CONCURRENCY (workers), GUNICORN_THREADS.
"""
import os

# Must be set before any worker imports NumPy: the master reads this file first, workers inherit it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
# gthread keeps client connections alive (the sync worker closes each one after a response);
# a second thread lets one request read its body while another computes.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 2)
keepalive = 5
timeout = 30  # a worker stuck this long on one request is restarted
graceful_timeout = 10
control_socket_disable = True  # one fixed socket path would clash between several servers
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def on_starting(server):
    """Refuse to start without a servable model. Later, a worker replacing a crashed one starts
    even if the file went bad meanwhile (its /predict answers 503), so the others keep serving."""
    from app.config import settings_from_env
    from app.model_holder import ModelHolder
    from app.model_registry import ModelRegistry

    settings = settings_from_env()
    weights = settings["WEIGHTS_PATH"]
    if ModelHolder(weights, ModelRegistry.in_instance(settings["INSTANCE_PATH"], weights)).current is None:
        raise SystemExit("not starting: no model can be served (see the error above)")


def post_worker_init(worker):
    """Say which model this worker serves, once, as it starts."""
    app = worker.wsgi
    holder = app.extensions["model_holder"]
    model = holder.current
    if model is None:
        worker.log.error("worker %s has no model: %s", worker.pid, holder.refused)
        return
    worker.log.info(
        "worker %s serving model %s (sha256 %s) from %s", worker.pid, model.version, model.sha256, holder.weights_path
    )
