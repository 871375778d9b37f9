/**
 * Pure geometry for the labeling tool. No DOM, no state: every function takes
 * plain numbers/arrays and returns new ones, so it runs under `node --test`.
 *
 * Coordinate systems
 *   image  - floats in image pixels; (0, 0) is the top-left corner of the
 *            top-left pixel, (width, height) the bottom-right corner of the
 *            bottom-right pixel. Everything stored is in image coordinates.
 *   screen - CSS pixels relative to the top-left corner of the <svg>.
 *
 * A view is `{zoom, panX, panY}`:  screen = image * zoom + pan.
 * A bbox is `[x, y, width, height]` in image pixels with width, height >= 0.
 */

/** Boxes smaller than this (in image pixels, either side) are discarded. */
export const MIN_BOX_SIZE = 1;
export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 64;

/** Handle names, clockwise from the top-left corner. Corners first when hit-testing. */
export const HANDLES = Object.freeze(["nw", "n", "ne", "e", "se", "s", "sw", "w"]);
const HIT_ORDER = ["nw", "ne", "se", "sw", "n", "e", "s", "w"];

export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** Round to `decimals` places; stored coordinates use 2. Never returns -0. */
export function round(v, decimals = 2) {
  const f = 10 ** decimals;
  const r = Math.round(v * f) / f;
  return r === 0 ? 0 : r;
}

export function imageToScreen([x, y], view) {
  return [x * view.zoom + view.panX, y * view.zoom + view.panY];
}

export function screenToImage([sx, sy], view) {
  return [(sx - view.panX) / view.zoom, (sy - view.panY) / view.zoom];
}

/** A bbox in image pixels as a screen rectangle `[x, y, width, height]`. */
export function bboxToScreen([x, y, w, h], view) {
  const [sx, sy] = imageToScreen([x, y], view);
  return [sx, sy, w * view.zoom, h * view.zoom];
}

/** The view that shows the whole image centred in the viewport with `padding` px around it. */
export function fitView(imageWidth, imageHeight, viewWidth, viewHeight, padding = 16) {
  const availW = Math.max(1, viewWidth - 2 * padding);
  const availH = Math.max(1, viewHeight - 2 * padding);
  const zoom = clamp(Math.min(availW / imageWidth, availH / imageHeight), MIN_ZOOM, MAX_ZOOM);
  return {
    zoom,
    panX: (viewWidth - imageWidth * zoom) / 2,
    panY: (viewHeight - imageHeight * zoom) / 2,
  };
}

/** Multiply the zoom by `factor`, keeping the image point under `screenPoint` where it is. */
export function zoomAt(view, factor, [sx, sy], minZoom = MIN_ZOOM, maxZoom = MAX_ZOOM) {
  const zoom = clamp(view.zoom * factor, minZoom, maxZoom);
  const [ix, iy] = screenToImage([sx, sy], view);
  return { zoom, panX: sx - ix * zoom, panY: sy - iy * zoom };
}

export function panBy(view, dx, dy) {
  return { zoom: view.zoom, panX: view.panX + dx, panY: view.panY + dy };
}

/** The bbox spanned by two corner points, whichever order they were given in. */
export function normalizeBox([x1, y1], [x2, y2]) {
  return [Math.min(x1, x2), Math.min(y1, y2), Math.abs(x2 - x1), Math.abs(y2 - y1)];
}

export function clampPoint([x, y], imageWidth, imageHeight) {
  return [clamp(x, 0, imageWidth), clamp(y, 0, imageHeight)];
}

/** Cut a bbox to the image `[0, W] x [0, H]` (parts outside are dropped, not shifted). */
export function clampBox([x, y, w, h], imageWidth, imageHeight) {
  const [x1, y1] = clampPoint([Math.min(x, x + w), Math.min(y, y + h)], imageWidth, imageHeight);
  const [x2, y2] = clampPoint([Math.max(x, x + w), Math.max(y, y + h)], imageWidth, imageHeight);
  return [x1, y1, x2 - x1, y2 - y1];
}

export function roundBox(bbox, decimals = 2) {
  return bbox.map((v) => round(v, decimals));
}

export function isTooSmall(bbox, minSize = MIN_BOX_SIZE) {
  return !(bbox[2] >= minSize && bbox[3] >= minSize);
}

/**
 * Clamp, round and size-check a bbox for storage. Returns the stored bbox, or
 * null when what is left inside the image is smaller than the minimum size.
 */
export function finalizeBox(bbox, imageWidth, imageHeight, minSize = MIN_BOX_SIZE) {
  const out = roundBox(clampBox(bbox, imageWidth, imageHeight));
  return isTooSmall(out, minSize) ? null : out;
}

/** Translate a bbox; it is shifted (not shrunk) to stay inside the image. */
export function moveBox([x, y, w, h], dx, dy, imageWidth, imageHeight) {
  return [
    clamp(x + dx, 0, Math.max(0, imageWidth - w)),
    clamp(y + dy, 0, Math.max(0, imageHeight - h)),
    w,
    h,
  ];
}

/**
 * Drag `handle` of `bbox` to `point`. Always computed from the box as it was
 * when the drag started; dragging past the opposite edge flips the box
 * (the result is normalized), so the caller never tracks the flip.
 */
export function resizeBox([x, y, w, h], handle, [px, py]) {
  let left = x;
  let top = y;
  let right = x + w;
  let bottom = y + h;
  if (handle.includes("w")) left = px;
  if (handle.includes("e")) right = px;
  if (handle.includes("n")) top = py;
  if (handle.includes("s")) bottom = py;
  return normalizeBox([left, top], [right, bottom]);
}

/** `{nw: [x, y], n: [...], ...}`: where each handle sits on a bbox. */
export function handlePositions([x, y, w, h]) {
  const cx = x + w / 2;
  const cy = y + h / 2;
  const r = x + w;
  const b = y + h;
  return {
    nw: [x, y], n: [cx, y], ne: [r, y], e: [r, cy],
    se: [r, b], s: [cx, b], sw: [x, b], w: [x, cy],
  };
}

/**
 * The handle of `bbox` within `tolerance` of `point` (Chebyshev distance),
 * corners before edges, or null. Point, bbox and tolerance share one
 * coordinate system (pass a screen bbox and screen tolerance for constant-size handles).
 */
export function hitHandle(bbox, [px, py], tolerance) {
  const pos = handlePositions(bbox);
  for (const name of HIT_ORDER) {
    const [hx, hy] = pos[name];
    if (Math.abs(px - hx) <= tolerance && Math.abs(py - hy) <= tolerance) return name;
  }
  return null;
}

export function pointInBox([px, py], [x, y, w, h], tolerance = 0) {
  return px >= x - tolerance && px <= x + w + tolerance && py >= y - tolerance && py <= y + h + tolerance;
}

/**
 * The id of the shape under `point`: the selected one if it is hit, else the
 * smallest hit box (so a box nested in a bigger one stays reachable).
 * `shapes` are `{id, bbox}` in the same coordinates as `point`.
 */
export function hitShape(shapes, point, selectedId = null, tolerance = 0) {
  let best = null;
  let bestArea = Infinity;
  for (const s of shapes) {
    if (!s.bbox || !pointInBox(point, s.bbox, tolerance)) continue;
    if (s.id === selectedId) return s.id;
    const area = s.bbox[2] * s.bbox[3];
    if (area < bestArea) {
      best = s.id;
      bestArea = area;
    }
  }
  return best;
}

const CURSORS = {
  nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize",
  n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize",
};

export function cursorForHandle(handle) {
  return CURSORS[handle] ?? "default";
}
