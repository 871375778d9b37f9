import assert from "node:assert/strict";
import { test } from "node:test";

import { captionText, outlines, sourceText, toPairs } from "../../annotate/static/tool/viewer.js";

test("model source caption: 'model v3 · 0.87'", () => {
  assert.equal(sourceText({ type: "model", model_version: 3, score: 0.87 }), "model v3 · 0.87");
  assert.equal(sourceText({ type: "model", model_version: 12, score: 0.5 }), "model v12 · 0.50");
  assert.equal(sourceText({ type: "human" }), "");
  assert.equal(captionText({ label: "car", source: { type: "model", model_version: 3, score: 0.87 } }), "car · model v3 · 0.87");
  assert.equal(captionText({ label: "person", source: { type: "human" } }), "person");
  assert.equal(sourceText({ type: "consensus", score: 2 / 3, labelers: 2 }), "consensus 0.67 · 2 labelers");
  assert.equal(sourceText({ type: "consensus", score: 1, labelers: 1 }), "consensus 1.00 · 1 labeler");
});

test("polygon rings and polyline points become point pairs", () => {
  assert.deepEqual(toPairs([1, 2, 3, 4, 5]), [[1, 2], [3, 4]]);
  assert.deepEqual(outlines({ type: "polygon", rings: [[0, 0, 10, 0, 5, 5], [1, 1, 2, 2, 3, 1]] }), [
    [[0, 0], [10, 0], [5, 5]],
    [[1, 1], [2, 2], [3, 1]],
  ]);
  assert.deepEqual(outlines({ type: "polyline", points: [0, 0, 4, 4] }), [[[0, 0], [4, 4]]]);
  assert.deepEqual(outlines({ type: "mask", rle: [] }), []);
});
