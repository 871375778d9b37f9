import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { createApi } from "../../annotate/static/tool/api.js";
import { ACTIVE_WINDOW_MS, HEARTBEAT_MS, LeasePolicy } from "../../annotate/static/tool/lease.js";

/** A clock whose time (ms) moves only when the test says so. */
function fakeTime(start = 1000) {
  let t = start;
  return { now: () => t, at: (ms) => { t = start + ms; } };
}

describe("LeasePolicy", () => {
  test("beats every interval while the person works in a visible tab", () => {
    const time = fakeTime();
    const policy = new LeasePolicy({ now: time.now });
    policy.activity();
    assert.equal(policy.due(), false, "the task was just served with a fresh lease");
    time.at(HEARTBEAT_MS - 1);
    policy.activity();
    assert.equal(policy.due(), false);
    time.at(HEARTBEAT_MS);
    assert.equal(policy.due(), true);
    policy.beaten();
    assert.equal(policy.due(), false);
    time.at(2 * HEARTBEAT_MS);
    assert.equal(policy.due(), true);
  });

  test("stops after five idle minutes and starts again with the next activity", () => {
    const time = fakeTime();
    const policy = new LeasePolicy({ now: time.now });
    policy.activity();
    time.at(ACTIVE_WINDOW_MS);
    assert.equal(policy.due(), true, "exactly five minutes after the last activity still counts");
    time.at(ACTIVE_WINDOW_MS + 1);
    assert.equal(policy.due(), false);
    time.at(ACTIVE_WINDOW_MS + 10_000);
    policy.activity();
    assert.equal(policy.due(), true);
  });

  test("never beats without activity or while the tab is hidden", () => {
    const time = fakeTime();
    const policy = new LeasePolicy({ now: time.now });
    time.at(HEARTBEAT_MS * 3);
    assert.equal(policy.due(), false, "nobody touched the page");
    policy.activity();
    policy.setVisible(false);
    assert.equal(policy.due(), false);
    policy.setVisible(true);
    assert.equal(policy.due(), true);
  });

  test("a tab opened hidden waits until it is shown", () => {
    const time = fakeTime();
    const policy = new LeasePolicy({ now: time.now, visible: false });
    policy.activity();
    time.at(HEARTBEAT_MS);
    assert.equal(policy.due(), false);
    policy.setVisible(true);
    assert.equal(policy.due(), true);
  });
});

describe("createApi lease calls", () => {
  test("heartbeat and skip POST to the task with the CSRF header", async () => {
    const calls = [];
    const replies = [{ task_id: 5, lease_expires_at: "2026-12-02T10:30:00+00:00", lease_seconds: 1800 }, { state: "new", next_task_id: 6 }];
    const fetch = async (url, init) => {
      calls.push({ url, ...init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
      return new Response(JSON.stringify(replies.shift()), { status: 200 });
    };
    const api = createApi({ apiBase: "/api/v1", csrfToken: "tok", fetch });
    assert.equal((await api.heartbeat(5)).lease_seconds, 1800);
    assert.deepEqual(await api.skipTask(5, "blurry"), { state: "new", next_task_id: 6 });
    assert.equal(calls[0].url, "/api/v1/tasks/5/heartbeat");
    assert.equal(calls[0].method, "POST");
    assert.equal(calls[0].headers["X-CSRFToken"], "tok");
    assert.equal(calls[0].body, undefined);
    assert.equal(calls[1].url, "/api/v1/tasks/5/skip");
    assert.deepEqual(calls[1].body, { reason: "blurry" });
  });
});
