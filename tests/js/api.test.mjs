import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ApiError, Autosaver, conflictRevision, createApi, formatFieldErrors } from "../../annotate/static/tool/api.js";

function fakeFetch(responses) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, ...init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    const [status, body] = responses.shift();
    return new Response(body === null ? "" : JSON.stringify(body), { status });
  };
  return { fetch, calls };
}

describe("createApi", () => {
  test("GET has no CSRF header; PUT and POST send it with a JSON body", async () => {
    const { fetch, calls } = fakeFetch([[200, { id: 5 }], [200, { revision: 8 }], [200, { state: "submitted", next_task_id: 6 }]]);
    const api = createApi({ apiBase: "/api/v1/", csrfToken: "tok", fetch });
    assert.deepEqual(await api.getTask(5), { id: 5 });
    assert.deepEqual(await api.saveAnnotation(5, 7, { version: 1, tags: [], shapes: [] }), { revision: 8 });
    assert.deepEqual(await api.submitTask(5, 8), { state: "submitted", next_task_id: 6 });

    assert.equal(calls[0].url, "/api/v1/tasks/5");
    assert.equal(calls[0].method, "GET");
    assert.equal(calls[0].headers["X-CSRFToken"], undefined);
    assert.equal(calls[1].url, "/api/v1/tasks/5/annotation");
    assert.equal(calls[1].method, "PUT");
    assert.equal(calls[1].headers["X-CSRFToken"], "tok");
    assert.deepEqual(calls[1].body, { base_revision: 7, annotation: { version: 1, tags: [], shapes: [] } });
    assert.equal(calls[2].url, "/api/v1/tasks/5/submit");
    assert.equal(calls[2].method, "POST");
    assert.deepEqual(calls[2].body, { base_revision: 8 });
    assert.equal(calls[2].credentials, "same-origin");
  });

  test("error bodies become ApiError with status, message and field errors", async () => {
    const body = { code: 422, status: "Unprocessable Entity", message: "Invalid annotation", errors: { json: { annotation: ["bad"] } } };
    const { fetch } = fakeFetch([[422, body]]);
    const api = createApi({ fetch });
    await assert.rejects(api.saveAnnotation(1, 0, {}), (err) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 422);
      assert.equal(err.message, "Invalid annotation");
      assert.deepEqual(formatFieldErrors(err.errors), ["json.annotation: bad"]);
      return true;
    });
  });

  test("a network failure is an ApiError with status 0", async () => {
    const api = createApi({ fetch: async () => { throw new TypeError("Failed to fetch"); } });
    await assert.rejects(api.getTask(1), (err) => err.status === 0 && err.isNetwork);
  });

  test("conflictRevision reads the revision where a 409 body may carry it", () => {
    assert.equal(conflictRevision(new ApiError(409, "x", { revision: 12 })), 12);
    assert.equal(conflictRevision(new ApiError(409, "x", {}, { current_revision: 4 })), 4);
    assert.equal(conflictRevision(new ApiError(409, "x")), null);
  });
});

/** Timers you advance by hand. */
function manualTimers() {
  let next = 1;
  const pending = new Map();
  return {
    setTimeout: (fn, ms) => { pending.set(next, { fn, ms }); return next++; },
    clearTimeout: (id) => pending.delete(id),
    pending,
    fire() {
      const entries = [...pending.entries()];
      pending.clear();
      for (const [, t] of entries) t.fn();
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

function makeSaver(saveImpl, { revision = 3 } = {}) {
  let version = 0;
  const timers = manualTimers();
  const sent = [];
  const statuses = [];
  const saver = new Autosaver({
    save: async (doc, base) => {
      sent.push({ doc, base });
      return saveImpl(doc, base);
    },
    getDocument: () => ({ v: version }),
    getVersion: () => version,
    revision,
    timers,
  });
  saver.addEventListener("status", (e) => statuses.push(e.detail.status));
  return { saver, timers, sent, statuses, bump: () => { version += 1; saver.changed(); } };
}

describe("Autosaver", () => {
  test("debounces changes into one save with the base revision", async () => {
    const { saver, timers, sent, statuses, bump } = makeSaver(async (_d, base) => ({ revision: base + 1 }));
    bump();
    bump();
    assert.equal(timers.pending.size, 1);
    assert.equal([...timers.pending.values()][0].ms, 1000);
    assert.equal(saver.status, "dirty");
    timers.fire();
    await tick();
    assert.deepEqual(sent, [{ doc: { v: 2 }, base: 3 }]);
    assert.equal(saver.status, "saved");
    assert.equal(saver.revision, 4);
    assert.deepEqual(statuses, ["dirty", "dirty", "saving", "saved"]);
  });

  test("a change during a save is saved next, on the new revision", async () => {
    let release;
    const { saver, timers, sent, bump } = makeSaver((_d, base) => new Promise((r) => { release = () => r({ revision: base + 1 }); }));
    bump();
    timers.fire();
    await tick();
    bump(); // while the first save is in flight
    assert.equal(saver.status, "saving");
    release();
    await tick();
    assert.equal(saver.status, "dirty");
    timers.fire();
    await tick();
    release();
    await tick();
    assert.deepEqual(sent.map((s) => s.base), [3, 4]);
    assert.deepEqual(sent.map((s) => s.doc.v), [1, 2]);
    assert.equal(saver.status, "saved");
    assert.equal(saver.revision, 5);
  });

  test("flush saves immediately and reports success", async () => {
    const { saver, timers, sent, bump } = makeSaver(async () => ({ revision: 10 }));
    assert.equal(await saver.flush(), true);
    assert.equal(sent.length, 0); // nothing to save
    bump();
    assert.equal(await saver.flush(), true);
    assert.equal(sent.length, 1);
    assert.equal(timers.pending.size, 0);
  });

  test("409 stops autosaving for good and never sends again", async () => {
    const { saver, timers, sent, bump } = makeSaver(async () => { throw new ApiError(409, "Conflict", { revision: 9 }); });
    bump();
    assert.equal(await saver.flush(), false);
    assert.equal(saver.status, "conflict");
    assert.equal(conflictRevision(saver.error), 9);
    bump();
    assert.equal(timers.pending.size, 0);
    assert.equal(await saver.flush(), false);
    assert.equal(sent.length, 1);
    assert.equal(saver.hasUnsavedChanges, true);
  });

  test("422 shows an error and waits for the next change; network errors retry", async () => {
    let fail = new ApiError(422, "Invalid", { shapes: ["bad"] });
    const { saver, timers, bump } = makeSaver(async () => { if (fail) throw fail; return { revision: 4 }; });
    bump();
    assert.equal(await saver.flush(), false);
    assert.equal(saver.status, "error");
    assert.equal(saver.error.message, "Invalid");
    assert.equal(timers.pending.size, 0);

    fail = new ApiError(0, "Network error");
    bump();
    assert.equal(await saver.flush(), false);
    assert.equal([...timers.pending.values()][0].ms, 5000);

    fail = null;
    timers.fire();
    await tick();
    assert.equal(saver.status, "saved");
    assert.equal(saver.revision, 4);
  });
});
