"""The export job: dataset document -> converter -> zip in storage."""

from __future__ import annotations

from annotate.converters import export_to_zip
from annotate.extensions import db
from annotate.models import Item, Project
from annotate.services import exports
from annotate.services.jobs import job_logger, running, set_progress
from annotate.storage import get_storage


def run_export(job_id: str) -> None:
    """Export a project as the job's ``params["format"]`` into ``exports/<job id>.zip``."""
    log = job_logger(job_id)
    with running(job_id) as job:
        params = job.params
        project = db.session.get(Project, job.project_id)
        dataset = exports.dataset_document(project, accepted_only=params.get("accepted_only", True))
        set_progress(job, 0.1, f"{len(dataset['items'])} items to export")
        items = {str(item.id): item for item in db.session.query(Item).filter(Item.project_id == project.id)}
        done = {"n": 0}
        total = max(1, len(dataset["items"]))
        fetch = exports.image_source(items)

        def images(entry: dict):
            done["n"] += 1
            if done["n"] % 10 == 0:
                set_progress(job, 0.1 + 0.7 * done["n"] / total, f"{done['n']} of {total} images")
            return fetch(entry)

        key = f"exports/{job.org_id}/{job.id}.zip"
        # Written straight into the zip, which appears in storage only once it is complete.
        report = export_to_zip(
            params["format"], dataset, get_storage().path(key), images=images if params.get("include_images") else None, overwrite=True
        )
        safe_name = "".join(c if c.isalnum() or c in "-_" else "_" for c in project.name)
        job.result = {
            "key": key,
            "file_name": f"{safe_name}-{params['format']}.zip",
            "items": len(dataset["items"]),
            "report": report.lines(),
        }
        job.message = f"exported {len(dataset['items'])} items as {params['format']}"
        log.info("exported %d items as %s", len(dataset["items"]), params["format"])
