/**
 * The server edge of the labeling tool: the only module that knows URLs.
 *
 *   createApi({apiBase, csrfToken, activity})
 *                                    -> {getTask, saveAnnotation, submitTask,
 *                                        heartbeat, skipTask};
 *                                       with an ActivityClock (activity.js), every
 *                                       save sends the active seconds since the
 *                                       last one as `active_seconds`
 *   ApiError                            every failed request; `.status` is the
 *                                       HTTP status (0 for a network failure)
 *   Autosaver                           debounced saving with optimistic
 *                                       concurrency (base_revision); stops for
 *                                       good on 409 so newer work is never overwritten
 *
 * Non-GET requests carry `X-CSRFToken`. Error bodies have one shape:
 * `{code, status, message, errors}`.
 */

export class ApiError extends Error {
  constructor(status, message, errors = {}, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors ?? {};
    this.body = body;
  }

  get isConflict() { return this.status === 409; }
  get isNetwork() { return this.status === 0; }
}

/** The CSRF token from the page: bootstrap config first, then `<meta name="csrf-token">`. */
export function csrfTokenFrom(config, doc = globalThis.document) {
  if (config?.csrfToken) return config.csrfToken;
  return doc?.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
}

/** The most active seconds one save may report (the server's limit); the rest waits for the next save. */
export const MAX_ACTIVE_SECONDS = 86400;

export function createApi({ apiBase = "/api/v1", csrfToken = "", fetch: fetchImpl = globalThis.fetch.bind(globalThis), activity = null } = {}) {
  const base = apiBase.replace(/\/+$/, "");
  const taskUrl = (id) => `${base}/tasks/${encodeURIComponent(id)}`;

  async function request(method, url, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
    let response;
    try {
      response = await fetchImpl(url, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, `Network error: ${err?.message ?? err}`);
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const message = data?.message || `${response.status} ${response.statusText || "error"}`.trim();
      throw new ApiError(response.status, message, data?.errors ?? {}, data);
    }
    return data;
  }

  return {
    getTask: (id) => request("GET", taskUrl(id)),
    saveAnnotation: async (id, baseRevision, annotation) => {
      const body = { base_revision: baseRevision, annotation };
      let seconds = 0;
      if (activity) {
        const taken = activity.take();
        seconds = Math.min(taken, MAX_ACTIVE_SECONDS);
        activity.restore(taken - seconds);
        body.active_seconds = seconds;
      }
      try {
        return await request("PUT", `${taskUrl(id)}/annotation`, body);
      } catch (err) {
        // Nothing was stored, so the time belongs to the next save.
        if (activity) activity.restore(seconds);
        throw err;
      }
    },
    submitTask: (id, baseRevision) => request("POST", `${taskUrl(id)}/submit`, { base_revision: baseRevision }),
    /** Renew the caller's lease on the task; resolves `{task_id, lease_expires_at, lease_seconds}`. */
    heartbeat: (id) => request("POST", `${taskUrl(id)}/heartbeat`),
    /** Give the task back with a reason; resolves `{state, next_task_id}`. */
    skipTask: (id, reason) => request("POST", `${taskUrl(id)}/skip`, { reason }),
  };
}

/** Flatten `{field: ["msg"], nested: {x: ["msg"]}}` into `["field: msg", "nested.x: msg"]`. */
export function formatFieldErrors(errors, prefix = "") {
  const out = [];
  for (const [key, value] of Object.entries(errors ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value)) out.push(...value.map((v) => (typeof v === "object" ? formatFieldErrors(v, path).join("; ") : `${path}: ${v}`)));
    else if (value && typeof value === "object") out.push(...formatFieldErrors(value, path));
    else out.push(`${path}: ${value}`);
  }
  return out;
}

/** The newest revision a 409 body reports, if it reports one. */
export function conflictRevision(error) {
  const e = error?.errors ?? {};
  const b = error?.body ?? {};
  return e.revision ?? e.current_revision ?? e.latest_revision ?? b.revision ?? b.current_revision ?? null;
}

/**
 * Saves the document a short while after the last change.
 *
 * Status (`status` event, detail `{status, revision, error}`):
 *   saved     everything up to `version()` is on the server at `revision`
 *   dirty     there are changes not yet sent
 *   saving    a request is in flight
 *   error     the last save failed (retried on the next change, on flush(),
 *             and after `retryMs` for network failures)
 *   conflict  the server has newer work (409); nothing is ever sent again
 */
export class Autosaver extends EventTarget {
  /**
   * @param {object} o
   * @param {(doc: object, baseRevision: number) => Promise<{revision: number}>} o.save
   * @param {() => object} o.getDocument
   * @param {() => number} o.getVersion  increases on every change
   * @param {number} o.revision  the revision the document was loaded at
   */
  constructor({ save, getDocument, getVersion, revision, delayMs = 1000, retryMs = 5000, timers = globalThis }) {
    super();
    this._save = save;
    this._getDocument = getDocument;
    this._getVersion = getVersion;
    this.revision = revision;
    this._delayMs = delayMs;
    this._retryMs = retryMs;
    this._timers = timers;
    this._savedVersion = getVersion();
    this._timer = null;
    this._inflight = null;
    this.status = "saved";
    this.error = null;
  }

  get hasUnsavedChanges() { return this._getVersion() !== this._savedVersion; }

  /** Call after every change to the document. */
  changed() {
    if (this.status === "conflict") return;
    if (this.status !== "saving") this._setStatus("dirty");
    this._schedule(this._delayMs);
  }

  /**
   * Save now (and wait for any save in flight). Resolves true when everything
   * is saved, false on conflict or error. Never rejects. With `force`, saves
   * at least once even when nothing changed (so a submit can report the
   * active time spent since the last save).
   */
  async flush({ force = false } = {}) {
    this._cancelTimer();
    let mustSave = force;
    for (;;) {
      if (this._inflight) await this._inflight;
      if (this.status === "conflict") return false;
      if (!this.hasUnsavedChanges && !mustSave) return true;
      mustSave = false;
      if (!(await this._saveOnce())) return false;
    }
  }

  _saveOnce() {
    const version = this._getVersion();
    const doc = this._getDocument();
    this._setStatus("saving");
    this._inflight = (async () => {
      try {
        const result = await this._save(doc, this.revision);
        this.revision = result.revision;
        this._savedVersion = version;
        this.error = null;
        if (this.hasUnsavedChanges) {
          this._setStatus("dirty");
          this._schedule(this._delayMs);
        } else {
          this._setStatus("saved");
        }
        return true;
      } catch (err) {
        this.error = err;
        if (err?.status === 409) {
          this._cancelTimer();
          this._setStatus("conflict");
        } else {
          this._setStatus("error");
          if (err?.status === 0 || err?.status === undefined) this._schedule(this._retryMs);
        }
        return false;
      } finally {
        this._inflight = null;
      }
    })();
    return this._inflight;
  }

  _schedule(ms) {
    this._cancelTimer();
    this._timer = this._timers.setTimeout(() => {
      this._timer = null;
      // One save per quiet period; a save in flight reschedules itself when it ends.
      if (!this._inflight && this.status !== "conflict" && this.hasUnsavedChanges) this._saveOnce();
    }, ms);
  }

  _cancelTimer() {
    if (this._timer !== null) this._timers.clearTimeout(this._timer);
    this._timer = null;
  }

  _setStatus(status) {
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, revision: this.revision, error: this.error } }));
  }
}
