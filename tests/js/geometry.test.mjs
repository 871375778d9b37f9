import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  bboxToScreen,
  clampBox,
  finalizeBox,
  fitView,
  handlePositions,
  hitHandle,
  hitShape,
  imageToScreen,
  isTooSmall,
  moveBox,
  normalizeBox,
  resizeBox,
  round,
  roundBox,
  screenToImage,
  zoomAt,
} from "../../annotate/static/tool/geometry.js";

const view = { zoom: 2, panX: 10, panY: 20 };

describe("image <-> screen", () => {
  test("image to screen with zoom 2, pan (10, 20)", () => {
    assert.deepEqual(imageToScreen([0, 0], view), [10, 20]);
    assert.deepEqual(imageToScreen([5, 7], view), [20, 34]);
    assert.deepEqual(imageToScreen([100.5, 0.25], view), [211, 20.5]);
  });

  test("screen to image inverts it", () => {
    assert.deepEqual(screenToImage([20, 34], view), [5, 7]);
    assert.deepEqual(screenToImage([0, 0], view), [-5, -10]);
  });

  test("bbox to screen scales size but does not translate it", () => {
    assert.deepEqual(bboxToScreen([5, 7, 10, 4], view), [20, 34, 20, 8]);
  });

  test("fit centres a 200x100 image in a 432x432 viewport with 16 px padding", () => {
    // available 400x400 -> zoom min(400/200, 400/100) = 2; image 400x200 on screen
    assert.deepEqual(fitView(200, 100, 432, 432, 16), { zoom: 2, panX: 16, panY: 116 });
  });

  test("zoom around the cursor keeps the image point under it", () => {
    const v = zoomAt(view, 2, [30, 40]); // image point under cursor: (10, 10)
    assert.equal(v.zoom, 4);
    assert.deepEqual([v.panX, v.panY], [-10, 0]); // 30 - 10*4, 40 - 10*4
    assert.deepEqual(imageToScreen([10, 10], v), [30, 40]);
  });

  test("zoom is clamped", () => {
    assert.equal(zoomAt({ zoom: 1, panX: 0, panY: 0 }, 1000, [0, 0], 0.1, 8).zoom, 8);
    assert.equal(zoomAt({ zoom: 1, panX: 0, panY: 0 }, 0.0001, [0, 0], 0.1, 8).zoom, 0.1);
  });
});

describe("boxes", () => {
  test("a box drawn from bottom-right to top-left is normalized", () => {
    assert.deepEqual(normalizeBox([50, 40], [10, 15]), [10, 15, 40, 25]);
    assert.deepEqual(normalizeBox([10, 40], [50, 15]), [10, 15, 40, 25]);
    assert.deepEqual(normalizeBox([10, 15], [50, 40]), [10, 15, 40, 25]);
  });

  test("clamping cuts the parts outside a 100x80 image", () => {
    assert.deepEqual(clampBox([-10, -5, 30, 20], 100, 80), [0, 0, 20, 15]);
    assert.deepEqual(clampBox([90, 70, 30, 20], 100, 80), [90, 70, 10, 10]);
    assert.deepEqual(clampBox([-10, 10, 200, 10], 100, 80), [0, 10, 100, 10]);
    assert.deepEqual(clampBox([150, 10, 20, 10], 100, 80), [100, 10, 0, 10]);
  });

  test("clamping accepts a negative width or height", () => {
    assert.deepEqual(clampBox([30, 30, -10, -40], 100, 80), [20, 0, 10, 30]);
  });

  test("rounding to 2 decimals, never -0", () => {
    assert.equal(round(1.005 + 1e-9), 1.01);
    assert.equal(round(2.344), 2.34);
    assert.ok(Object.is(round(-0.001), 0));
    assert.deepEqual(roundBox([1.234, 5.678, 9.999, 0.125]), [1.23, 5.68, 10, 0.13]);
  });

  test("boxes under 1x1 px are too small", () => {
    assert.equal(isTooSmall([0, 0, 1, 1]), false);
    assert.equal(isTooSmall([0, 0, 0.99, 50]), true);
    assert.equal(isTooSmall([0, 0, 50, 0.5]), true);
    assert.equal(isTooSmall([0, 0, NaN, 5]), true);
  });

  test("finalize clamps, rounds, and discards what is left too small", () => {
    assert.deepEqual(finalizeBox([-3.333, 10.006, 20, 5.5], 100, 80), [0, 10.01, 16.67, 5.5]);
    assert.equal(finalizeBox([99.5, 10, 20, 20], 100, 80), null); // only 0.5 px wide inside
    assert.equal(finalizeBox([10, 10, 0.4, 0.4], 100, 80), null);
  });

  test("move shifts the box to stay inside the image without shrinking it", () => {
    assert.deepEqual(moveBox([10, 10, 20, 20], 5, -3, 100, 80), [15, 7, 20, 20]);
    assert.deepEqual(moveBox([10, 10, 20, 20], 200, 200, 100, 80), [80, 60, 20, 20]);
    assert.deepEqual(moveBox([10, 10, 20, 20], -50, -50, 100, 80), [0, 0, 20, 20]);
  });
});

describe("resize handles", () => {
  const box = [10, 20, 40, 30]; // right 50, bottom 50

  test("handle positions", () => {
    assert.deepEqual(handlePositions(box), {
      nw: [10, 20], n: [30, 20], ne: [50, 20], e: [50, 35],
      se: [50, 50], s: [30, 50], sw: [10, 50], w: [10, 35],
    });
  });

  test("dragging the top-left handle inward shrinks from that corner", () => {
    assert.deepEqual(resizeBox(box, "nw", [20, 25]), [20, 25, 30, 25]);
  });

  test("dragging the top-left handle past the opposite corner flips the box", () => {
    // opposite corner (50, 50) stays; the dragged corner is now bottom-right
    assert.deepEqual(resizeBox(box, "nw", [70, 65]), [50, 50, 20, 15]);
  });

  test("an edge handle moves only its edge, and flips past the other side", () => {
    assert.deepEqual(resizeBox(box, "e", [60, 999]), [10, 20, 50, 30]);
    assert.deepEqual(resizeBox(box, "n", [999, 60]), [10, 50, 40, 10]);
    assert.deepEqual(resizeBox(box, "w", [0, -5]), [0, 20, 50, 30]);
  });

  test("hit-testing prefers corners and respects the tolerance", () => {
    assert.equal(hitHandle(box, [12, 22], 3), "nw");
    assert.equal(hitHandle(box, [30, 52], 3), "s");
    assert.equal(hitHandle(box, [30, 35], 3), null);
    assert.equal(hitHandle(box, [54, 20], 3), null);
    // a tiny 2x2 box: every handle is within tolerance, the corner wins
    assert.equal(hitHandle([0, 0, 2, 2], [1, 1], 5), "nw");
  });

  test("hit shape: the selected one first, else the smallest containing box", () => {
    const shapes = [
      { id: "big", bbox: [0, 0, 100, 100] },
      { id: "small", bbox: [10, 10, 20, 20] },
    ];
    assert.equal(hitShape(shapes, [15, 15]), "small");
    assert.equal(hitShape(shapes, [15, 15], "big"), "big");
    assert.equal(hitShape(shapes, [50, 50]), "big");
    assert.equal(hitShape(shapes, [150, 50]), null);
  });
});
