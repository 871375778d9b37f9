"""Background jobs: queue names, enqueueing by dotted path, and the in-process fallback.

With ``ANNOTATE_REDIS_URL`` set, jobs go to RQ queues on Redis and ``annotate worker`` runs
them. Without it (the demo's default), they run in a background thread of the web process,
and the log says so. Either way a :class:`~annotate.models.Job` row mirrors the job, and the
job function receives only that row's id, so the web process never imports the job's heavy
modules (torch stays out of it).
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app

from annotate.extensions import db
from annotate.models import Job

log = logging.getLogger(__name__)

DEFAULT = "default"
EXPORT = "export"
PRELABEL = "prelabel"
TRAIN = "train"
QUEUES = (DEFAULT, EXPORT, PRELABEL, TRAIN)

#: kind -> (queue, dotted path of the job function). Each function takes the job row's id.
JOB_FUNCTIONS: dict[str, tuple[str, str]] = {
    "export": (EXPORT, "annotate.jobs.export.run_export"),
    "train": (TRAIN, "prelabel.jobs.run_training"),
    "prelabel": (PRELABEL, "prelabel.jobs.run_prelabel"),
}


def init_app(app: Flask) -> None:
    """Set up the job backend for ``app``: a Redis connection, or an in-process thread pool."""
    url = app.config.get("REDIS_URL")
    if app.config.get("REDIS_CONNECTION") is not None:  # tests hand in fakeredis
        app.extensions["annotate.redis"] = app.config["REDIS_CONNECTION"]
    elif url:
        import redis

        app.extensions["annotate.redis"] = redis.Redis.from_url(url)
    else:
        app.extensions["annotate.executor"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="annotate-job")
        log.info("No ANNOTATE_REDIS_URL set: background jobs run in-process, in a thread of this server.")


def redis_connection():
    """Return the app's Redis connection, or None when jobs run in-process."""
    return current_app.extensions.get("annotate.redis")


def enqueue(kind: str, *, org_id: int, project_id: int | None, user_id: int | None, params: dict[str, Any]) -> Job:
    """Create a job row (committed) and queue its function.

    Args:
        kind: a key of :data:`JOB_FUNCTIONS`.
        org_id, project_id, user_id: who and what the job is for.
        params: JSON-ready parameters; the function reads them from the row.

    Returns:
        The job row, status ``queued``.
    """
    queue_name, func_path = JOB_FUNCTIONS[kind]
    job = Job(id=str(uuid.uuid4()), org_id=org_id, project_id=project_id, kind=kind, queue=queue_name, params=params, created_by_id=user_id)
    db.session.add(job)
    db.session.commit()
    connection = redis_connection()
    if connection is not None:
        from rq import Queue, Retry

        Queue(queue_name, connection=connection).enqueue(
            func_path, job.id, job_id=job.id, job_timeout=current_app.config["JOB_TIMEOUT"], retry=Retry(max=2)
        )
    else:
        app = current_app._get_current_object()
        app.extensions["annotate.executor"].submit(_run_in_process, app, func_path, job.id)
    return job


def _run_in_process(app: Flask, func_path: str, job_id: str) -> None:
    from rq.utils import import_attribute

    with app.app_context():
        try:
            import_attribute(func_path)(job_id)
        except Exception:  # the job row already holds the error; keep the thread alive
            log.exception("in-process job %s failed", job_id)
        finally:
            db.session.remove()


def wait_in_process(timeout: float | None = None) -> None:
    """Block until the in-process jobs queued so far are done (used by the CLI and tests)."""
    executor: ThreadPoolExecutor | None = current_app.extensions.get("annotate.executor")
    if executor is not None:
        executor.submit(lambda: None).result(timeout=timeout)
