// Live progress for the job rows of a project page: polls /api/v1/jobs/<id> until each ends.
const POLL_MS = 1000;

async function poll(row) {
  const id = row.dataset.jobId;
  const response = await fetch(`/api/v1/jobs/${id}`, { credentials: "same-origin" });
  if (!response.ok) return;
  const job = await response.json();
  row.dataset.status = job.status;
  row.querySelector(".job-status").textContent = job.status;
  row.querySelector("progress").value = job.progress;
  const message = row.querySelector(".job-message");
  message.textContent = job.error || job.message || "";
  const report = (job.result && job.result.report) || [];
  if (report.length) {
    const details = document.createElement("span");
    details.className = "muted";
    details.textContent = report.join("; ");
    message.append(document.createElement("br"), details);
  }
  if (job.status === "finished" && job.download_url) {
    row.querySelector(".job-link").innerHTML = `<a href="${job.download_url}">Download</a>`;
  }
  if (job.status === "queued" || job.status === "running") setTimeout(() => poll(row), POLL_MS);
}

for (const row of document.querySelectorAll("tr.job")) {
  if (row.dataset.status === "queued" || row.dataset.status === "running") poll(row);
}
