"""The life of a job row, used inside job functions: running, progress, finished or failed."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from annotate.extensions import db
from annotate.models import Job, JobStatus
from annotate.models.types import utcnow


class JobLogAdapter(logging.LoggerAdapter):
    """Tags every log line with the job id."""

    def process(self, msg, kwargs):
        return f"[job {self.extra['job_id']}] {msg}", kwargs


def job_logger(job_id: str) -> JobLogAdapter:
    """Return a logger whose lines start with ``[job <id>]``."""
    return JobLogAdapter(logging.getLogger("annotate.jobs"), {"job_id": job_id})


@contextmanager
def running(job_id: str) -> Iterator[Job]:
    """Mark the job running, yield its row, then mark it finished or failed (with the error).

    The exception is re-raised so that RQ can retry the job.
    """
    job = db.session.get(Job, job_id)
    if job is None:
        raise LookupError(f"job {job_id} has no row")
    job.status, job.started_at, job.error = JobStatus.RUNNING, utcnow(), ""
    db.session.commit()
    try:
        yield job
    except Exception as exc:
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.status, job.finished_at = JobStatus.FAILED, utcnow()
        job.error = f"{type(exc).__name__}: {exc}"
        job_logger(job_id).error("failed:\n%s", traceback.format_exc())
        db.session.commit()
        raise
    job.status, job.progress, job.finished_at = JobStatus.FINISHED, 1.0, utcnow()
    db.session.commit()


def set_progress(job: Job, fraction: float, message: str = "") -> None:
    """Record progress (0.0-1.0) and a short message, committed so pages see it at once."""
    job.progress = max(0.0, min(1.0, float(fraction)))
    if message:
        job.message = message
    db.session.commit()
