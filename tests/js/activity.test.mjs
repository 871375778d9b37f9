import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ActivityClock, IDLE_MS } from "../../annotate/static/tool/activity.js";
import { Autosaver, createApi } from "../../annotate/static/tool/api.js";

/** A clock whose time (ms) moves only when the test says so. */
function fakeTime(start = 1000) {
  let t = start;
  return { now: () => t, at: (ms) => { t = start + ms; } };
}

describe("ActivityClock", () => {
  test("nothing counts before the first event", () => {
    const time = fakeTime();
    const clock = new ActivityClock({ now: time.now });
    time.at(50_000);
    assert.equal(clock.take(), 0);
  });

  test("time between events within 30 s counts in full", () => {
    // Events at 0, 10 s and 25 s; take at 27 s: 27 s of activity.
    const time = fakeTime();
    const clock = new ActivityClock({ now: time.now });
    clock.activity();
    time.at(10_000);
    clock.activity();
    time.at(25_000);
    clock.activity();
    time.at(27_000);
    assert.equal(clock.take(), 27);
    assert.equal(clock.take(), 0, "a second take starts from zero");
  });

  test("an idle gap counts its first 30 s only", () => {
    // Event at 0, nothing until 100 s, event at 100 s, take at 105 s: 30 + 5 = 35 s.
    const time = fakeTime();
    const clock = new ActivityClock({ now: time.now });
    assert.equal(IDLE_MS, 30_000);
    clock.activity();
    time.at(100_000);
    assert.equal(clock.pending(), 30);
    clock.activity();
    time.at(105_000);
    assert.equal(clock.take(), 35);
  });

  test("a hidden tab does not count, and counting resumes only with the next event", () => {
    // Event at 0; hidden at 5 s; shown at 20 s; event at 40 s; take at 50 s: 5 + 10 = 15 s.
    const time = fakeTime();
    const clock = new ActivityClock({ now: time.now });
    clock.activity();
    time.at(5_000);
    clock.setVisible(false);
    time.at(12_000);
    clock.activity(); // an event while hidden (should not happen) changes nothing
    time.at(20_000);
    clock.setVisible(true);
    time.at(40_000);
    assert.equal(clock.pending(), 5);
    clock.activity();
    time.at(50_000);
    assert.equal(clock.take(), 15);
  });

  test("a clock made for a hidden tab counts nothing until shown", () => {
    const time = fakeTime();
    const clock = new ActivityClock({ now: time.now, visible: false });
    clock.activity();
    time.at(10_000);
    assert.equal(clock.take(), 0);
    clock.setVisible(true);
    clock.activity();
    time.at(14_000);
    assert.equal(clock.take(), 4);
  });

  test("take rounds to 0.1 s and carries the remainder", () => {
    // 12.34 s -> 12.3 (0.04 carried); +0.02 s -> 0.06 -> 0.1 (-0.04 carried); +1.0 s -> 0.96 -> 1.0.
    const time = fakeTime();
    const clock = new ActivityClock({ now: time.now });
    clock.activity();
    time.at(12_340);
    assert.equal(clock.take(), 12.3);
    assert.equal(clock.take(), 0);
    time.at(12_360);
    assert.equal(clock.take(), 0.1);
    time.at(13_360);
    clock.activity();
    assert.equal(clock.take(), 1);
  });

  test("restore puts seconds back for the next take", () => {
    const time = fakeTime();
    const clock = new ActivityClock({ now: time.now });
    clock.activity();
    time.at(4_000);
    const taken = clock.take();
    assert.equal(taken, 4);
    clock.restore(taken);
    time.at(6_000);
    assert.equal(clock.take(), 6);
  });
});

function fakeFetch(responses) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, ...init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    const [status, body] = responses.shift();
    return new Response(body === null ? "" : JSON.stringify(body), { status });
  };
  return { fetch, calls };
}

describe("saving with active time", () => {
  test("every PUT carries the active seconds; a failed PUT gives them back", async () => {
    const time = fakeTime();
    const clock = new ActivityClock({ now: time.now });
    const { fetch, calls } = fakeFetch([[200, { revision: 1 }], [500, { message: "boom" }], [200, { revision: 2 }]]);
    const api = createApi({ csrfToken: "tok", fetch, activity: clock });
    const doc = { version: 1, tags: [], shapes: [] };
    clock.activity();
    time.at(7_500);
    await api.saveAnnotation(3, 0, doc);
    assert.deepEqual(calls[0].body, { base_revision: 0, annotation: doc, active_seconds: 7.5 });
    clock.activity();
    time.at(9_500);
    await assert.rejects(api.saveAnnotation(3, 1, doc), { status: 500 });
    assert.equal(calls[1].body.active_seconds, 2);
    time.at(10_500);
    await api.saveAnnotation(3, 1, doc);
    assert.equal(calls[2].body.active_seconds, 3, "the failed save's 2 s plus 1 s since");
  });

  test("flush({force}) saves once even with no changes", async () => {
    const saved = [];
    const saver = new Autosaver({
      save: async (doc, base) => { saved.push(base); return { revision: base + 1 }; },
      getDocument: () => ({}),
      getVersion: () => 0,
      revision: 4,
      timers: { setTimeout: () => 0, clearTimeout: () => {} },
    });
    assert.equal(await saver.flush(), true);
    assert.deepEqual(saved, []);
    assert.equal(await saver.flush({ force: true }), true);
    assert.deepEqual(saved, [4]);
    assert.equal(saver.revision, 5);
  });
});
