import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { AnnotationStore } from "../../annotate/static/tool/store.js";

const NOW = "2024-05-01T12:00:00.000Z";

function makeStore() {
  let n = 0;
  return new AnnotationStore({
    user: "alice",
    image: { width: 100, height: 80 },
    now: () => NOW,
    newId: () => `id-${++n}`,
  });
}

function record(store) {
  const events = [];
  store.addEventListener("change", (e) => events.push(["change", e.detail.reason, e.detail.ids]));
  store.addEventListener("select", (e) => events.push(["select", e.detail.id]));
  return events;
}

const modelShape = () => ({
  id: "pre-1",
  type: "bbox",
  label: "car",
  bbox: [10, 10, 20, 20],
  source: { type: "model", model_version: 3, score: 0.87 },
  attributes: { occluded: false },
  author: "model",
  updated_at: "2024-01-01T00:00:00Z",
});
const polygon = () => ({ id: "poly-1", type: "polygon", label: "road", rings: [[0, 0, 10, 0, 5, 5]], source: { type: "human" } });

describe("AnnotationStore", () => {
  let store;
  let events;
  beforeEach(() => {
    store = makeStore();
    events = record(store);
  });

  test("addBox clamps, rounds, fills the contract fields and emits change", () => {
    const shape = store.addBox({ label: "person", bbox: [-5, 10.126, 30.3333, 100] });
    assert.deepEqual({ ...shape }, {
      id: "id-1",
      type: "bbox",
      label: "person",
      bbox: [0, 10.13, 25.33, 69.87], // x cut at 0 (25.3333 wide left), bottom cut at 80
      source: { type: "human" },
      attributes: {},
      author: "alice",
      updated_at: NOW,
    });
    assert.deepEqual(events, [["change", "add", ["id-1"]]]);
    assert.equal(store.version, 1);
  });

  test("a box under 1x1 px is discarded without an event", () => {
    assert.equal(store.addBox({ label: "person", bbox: [10, 10, 0.5, 40] }), null);
    assert.equal(store.addBox({ label: "person", bbox: [99.5, 10, 40, 40] }), null);
    assert.deepEqual(events, []);
    assert.equal(store.shapes.length, 0);
    assert.equal(store.version, 0);
  });

  test("never mutates input objects", () => {
    const doc = { version: 1, tags: [], shapes: [modelShape(), polygon()], extra: { keep: true } };
    const snapshot = structuredClone(doc);
    store.load(doc);
    store.updateBox("pre-1", [0, 0, 5, 5]);
    store.setLabel("pre-1", "person");
    store.removeShape("poly-1");
    assert.deepEqual(doc, snapshot);

    const bbox = [1, 2, 30, 40];
    const attributes = { a: 1 };
    store.addBox({ label: "x", bbox, attributes });
    assert.deepEqual(bbox, [1, 2, 30, 40]);
    assert.deepEqual(attributes, { a: 1 });
  });

  test("state handed out is frozen; getDocument returns a mutable copy", () => {
    store.load({ version: 1, tags: [], shapes: [modelShape()] });
    assert.throws(() => { store.shapes[0].bbox[0] = 99; }, TypeError);
    const doc = store.getDocument();
    doc.shapes[0].bbox[0] = 99;
    assert.equal(store.shapes[0].bbox[0], 10);
  });

  test("moving a model pre-label makes it human, keeps its id and attributes", () => {
    store.load({ version: 1, tags: [], shapes: [modelShape()] });
    events.length = 0;
    assert.equal(store.updateBox("pre-1", [12.345, 10, 20, 20]), true);
    assert.deepEqual({ ...store.getShape("pre-1") }, {
      ...modelShape(),
      bbox: [12.35, 10, 20, 20],
      source: { type: "human" },
      author: "alice",
      updated_at: NOW,
    });
    assert.deepEqual(events, [["change", "update", ["pre-1"]]]);
  });

  test("relabeling a pre-label makes it human too; same label is a no-op", () => {
    store.load({ version: 1, tags: [], shapes: [modelShape()] });
    events.length = 0;
    assert.equal(store.setLabel("pre-1", "car"), false);
    assert.deepEqual(events, []);
    assert.equal(store.setLabel("pre-1", "truck"), true);
    const s = store.getShape("pre-1");
    assert.equal(s.label, "truck");
    assert.deepEqual(s.source, { type: "human" });
    assert.deepEqual(events, [["change", "relabel", ["pre-1"]]]);
  });

  test("an unchanged or too-small update is refused without an event", () => {
    store.load({ version: 1, tags: [], shapes: [modelShape()] });
    events.length = 0;
    assert.equal(store.updateBox("pre-1", [10, 10, 20, 20]), false);
    assert.equal(store.updateBox("pre-1", [10, 10, 0.2, 20]), false);
    assert.equal(store.updateBox("nope", [10, 10, 5, 5]), false);
    assert.deepEqual(events, []);
    assert.deepEqual(store.getShape("pre-1").source.type, "model");
  });

  test("unknown shapes and top-level keys round-trip untouched", () => {
    const doc = { version: 1, tags: [], shapes: [polygon(), modelShape()], meta: { from: "import" } };
    store.load(doc);
    store.addBox({ label: "person", bbox: [0, 0, 10, 10] });
    const out = store.getDocument();
    assert.deepEqual(out.shapes[0], polygon());
    assert.deepEqual(out.shapes[1], modelShape());
    assert.deepEqual(out.meta, { from: "import" });
    assert.equal(out.version, 1);
    assert.equal(store.updateBox("poly-1", [0, 0, 5, 5]), false);
  });

  test("removing the selected shape clears the selection", () => {
    const s = store.addBox({ label: "person", bbox: [0, 0, 10, 10] });
    store.select(s.id);
    assert.equal(store.selectedId, s.id);
    store.removeShape(s.id);
    assert.equal(store.selectedId, null);
    assert.deepEqual(events, [
      ["change", "add", ["id-1"]],
      ["select", "id-1"],
      ["change", "remove", ["id-1"]],
      ["select", null],
    ]);
  });

  test("selecting an unknown id selects nothing; reselecting emits nothing", () => {
    store.select("ghost");
    assert.equal(store.selectedId, null);
    assert.deepEqual(events, []);
  });

  test("tags toggle on and off", () => {
    assert.equal(store.setTag("outdoor", true), true);
    assert.equal(store.setTag("outdoor", true), false);
    assert.deepEqual({ ...store.tags[0] }, {
      id: "id-1", label: "outdoor", source: { type: "human" }, author: "alice", updated_at: NOW,
    });
    assert.equal(store.hasTag("outdoor"), true);
    assert.equal(store.setTag("outdoor", false), true);
    assert.equal(store.hasTag("outdoor"), false);
    assert.deepEqual(events.map((e) => e[1]), ["tags", "tags"]);
  });

  test("undo and redo restore whole states and count as changes", () => {
    store.addBox({ label: "person", bbox: [0, 0, 10, 10] });
    store.updateBox("id-1", [5, 5, 10, 10]);
    assert.equal(store.undo(), true);
    assert.deepEqual([...store.getShape("id-1").bbox], [0, 0, 10, 10]);
    assert.equal(store.undo(), true);
    assert.equal(store.shapes.length, 0);
    assert.equal(store.undo(), false);
    assert.equal(store.redo(), true);
    assert.equal(store.shapes.length, 1);
    assert.equal(store.version, 5);
    // a new edit drops the redo branch
    store.setLabel("id-1", "car");
    assert.equal(store.canRedo, false);
  });

  test("undo of an add clears a selection pointing at it", () => {
    const s = store.addBox({ label: "person", bbox: [0, 0, 10, 10] });
    store.select(s.id);
    store.undo();
    assert.equal(store.selectedId, null);
  });

  test("load replaces state, resets history and does not bump version", () => {
    store.addBox({ label: "person", bbox: [0, 0, 10, 10] });
    const v = store.version;
    store.load({ version: 1, tags: [], shapes: [modelShape()] });
    assert.equal(store.version, v);
    assert.equal(store.canUndo, false);
    assert.deepEqual(store.shapes.map((s) => s.id), ["pre-1"]);
    assert.equal(events.at(-1)[0], "change");
    assert.equal(events.at(-1)[1], "load");
  });

  test("load tolerates a missing document", () => {
    store.load(null);
    assert.deepEqual(store.getDocument(), { version: 1, tags: [], shapes: [] });
  });
});
