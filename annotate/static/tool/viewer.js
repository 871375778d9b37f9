/**
 * Read-only rendering of an image and its shapes in an <svg>.
 *
 * Layout of the svg (shared with canvas.js, which adds interaction on top):
 *   <g class="viewport" transform="translate(pan) scale(zoom)">
 *     <image id="item-image">            natural pixel size, image coordinates
 *   </g>
 *   <g class="shapes">                    screen coordinates, re-rendered on
 *     <g class="shape" data-id> ...       every view change so strokes,
 *                                         captions and handles keep their size
 *
 * Shapes are stored in image pixels; this module converts them to screen
 * pixels (geometry.bboxToScreen) only when drawing.
 *
 * `Viewer` is the review page's component: fit to the container width, no
 * interaction. Entry point for the review page: `mountReview()`.
 */

import { bboxToScreen, imageToScreen, screenToImage } from "./geometry.js";

const SVG_NS = "http://www.w3.org/2000/svg";
export const UNKNOWN_COLOR = "#9ca3af";

export function svgEl(tag, attrs = {}, parent = null) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  if (parent) parent.appendChild(el);
  return el;
}

/** Build the image + shape layers inside `svg` and return them. */
export function createLayers(svg, { imageUrl, width, height, imageId = "item-image" }) {
  svg.replaceChildren();
  const viewport = svgEl("g", { class: "viewport" }, svg);
  const image = svgEl("image", {
    id: imageId,
    href: imageUrl,
    x: 0,
    y: 0,
    width,
    height,
    preserveAspectRatio: "none",
  }, viewport);
  const shapes = svgEl("g", { class: "shapes" }, svg);
  return { viewport, image, shapes };
}

export function applyViewTransform(viewport, view) {
  viewport.setAttribute("transform", `translate(${view.panX} ${view.panY}) scale(${view.zoom})`);
}

export function labelColors(labels) {
  const map = new Map();
  for (const l of labels ?? []) map.set(l.name, l.color || UNKNOWN_COLOR);
  return map;
}

export function isModelSource(source) {
  return source?.type === "model";
}

/** "model v3 · 0.87" for a pre-label, "consensus 0.67 · 2 labelers" for a merged shape, "" otherwise. */
export function sourceText(source) {
  if (source?.type === "consensus") {
    const n = source.labelers;
    const score = typeof source.score === "number" ? ` ${source.score.toFixed(2)}` : "";
    return `consensus${score}${n ? ` · ${n} labeler${n === 1 ? "" : "s"}` : ""}`;
  }
  if (!isModelSource(source)) return "";
  const parts = ["model"];
  if (source.model_version != null) parts[0] = `model v${source.model_version}`;
  if (typeof source.score === "number") parts.push(source.score.toFixed(2));
  return parts.join(" · ");
}

export function captionText(shape) {
  const src = sourceText(shape.source);
  return src ? `${shape.label ?? "?"} · ${src}` : `${shape.label ?? "?"}`;
}

/** `[x1, y1, x2, y2, ...]` (or `[[x, y], ...]`) as `[[x, y], ...]`. */
export function toPairs(list) {
  if (!Array.isArray(list) || list.length === 0) return [];
  if (Array.isArray(list[0])) return list.filter((p) => p.length >= 2);
  const out = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push([list[i], list[i + 1]]);
  return out;
}

/** The outlines of a polygon (`rings`, schema v1) or polyline (`points`) as lists of points. */
export function outlines(shape) {
  if (shape.type === "polygon") return (shape.rings ?? (shape.points ? [shape.points] : [])).map(toPairs);
  if (shape.type === "polyline") return [toPairs(shape.points)];
  return [];
}

/**
 * Draw all shapes into `layer` (replacing what was there).
 * `overrides` maps id -> bbox to draw instead (a drag in progress).
 * Returns a Map id -> <g> element.
 */
export function renderShapes(layer, shapes, { view, colors, selectedId = null, overrides = null, captions = true }) {
  layer.replaceChildren();
  const elements = new Map();
  for (const shape of shapes) {
    const color = colors.get(shape.label) ?? UNKNOWN_COLOR;
    const model = isModelSource(shape.source);
    if (shape.type === "bbox" && Array.isArray(shape.bbox)) {
      const bbox = overrides?.get(shape.id) ?? shape.bbox;
      const [x, y, w, h] = bboxToScreen(bbox, view);
      const g = svgEl("g", {
        class: `shape shape-bbox${model ? " model" : ""}${shape.id === selectedId ? " selected" : ""}`,
        "data-id": shape.id,
        "data-label": shape.label,
      }, layer);
      svgEl("rect", { class: "shape-body", x, y, width: w, height: h, stroke: color, fill: color }, g);
      if (captions) drawCaption(g, captionText(shape), x, y, color);
      elements.set(shape.id, g);
    } else if (shape.type === "polygon" || shape.type === "polyline") {
      // Drawn read-only: the tool edits boxes only, but must not hide other work.
      const rings = outlines(shape)
        .map((ring) => ring.map((p) => imageToScreen(p, view)))
        .filter((ring) => ring.length >= 2);
      if (!rings.length) continue;
      const g = svgEl("g", { class: `shape-polygon readonly${model ? " model" : ""}`, "data-id": shape.id, "data-label": shape.label }, layer);
      for (const ring of rings) {
        svgEl(shape.type, {
          class: "polygon-body",
          points: ring.map((p) => p.join(",")).join(" "),
          stroke: color,
          fill: shape.type === "polygon" ? color : "none",
        }, g);
      }
      if (captions) drawCaption(g, captionText(shape), rings[0][0][0], rings[0][0][1], color);
      elements.set(shape.id, g);
    }
  }
  return elements;
}

/**
 * Draw review pins (`{x, y}` in image pixels) as numbered markers into `layer`
 * (replacing what was there); pin i is labeled i + 1, matching the comment list.
 */
export function renderPins(layer, pins, view) {
  layer.replaceChildren();
  pins.forEach((pin, i) => {
    if (!pin) return;
    const [x, y] = imageToScreen([pin.x, pin.y], view);
    const g = svgEl("g", { class: "pin", "data-n": i + 1, transform: `translate(${x} ${y})` }, layer);
    svgEl("circle", { r: 9 }, g);
    const t = svgEl("text", { y: 4 }, g);
    t.textContent = String(i + 1);
  });
}

/** Image pixels `{x, y}` (rounded to 0.1 px, clamped to the image) of a pointer event on `svg`. */
export function pinFromEvent(event, svg, view, width, height) {
  const rect = svg.getBoundingClientRect();
  const [ix, iy] = screenToImage([event.clientX - rect.left, event.clientY - rect.top], view);
  const clamp = (v, hi) => Math.round(Math.min(Math.max(v, 0), hi) * 10) / 10;
  return { x: clamp(ix, width), y: clamp(iy, height) };
}

function drawCaption(g, text, x, y, color) {
  // Above the box when there is room, else just inside its top edge.
  const above = y >= 16;
  const t = svgEl("text", { class: "shape-caption", x: x + 2, y: above ? y - 4 : y + 12, fill: color }, g);
  t.textContent = text;
  return t;
}

/** Read-only image + shapes, scaled to fit the width of the svg's container. */
export class Viewer {
  constructor(svg, { imageUrl, width, height, labels = [], annotation = {} }) {
    this.svg = svg;
    this.width = width;
    this.height = height;
    this.layers = createLayers(svg, { imageUrl, width, height, imageId: "review-image" });
    this.pinLayer = svgEl("g", { class: "pins" }, svg);
    this.pins = [];
    this.colors = labelColors(labels);
    this.shapes = annotation?.shapes ?? [];
    this.view = { zoom: 1, panX: 0, panY: 0 };
    this._observer = typeof ResizeObserver === "function" ? new ResizeObserver(() => this.fit()) : null;
    this._observer?.observe(svg.parentElement ?? svg);
    this.fit();
  }

  fit() {
    const container = this.svg.parentElement ?? this.svg;
    const available = container.clientWidth || this.width;
    const zoom = available / this.width;
    this.view = { zoom, panX: 0, panY: 0 };
    this.svg.setAttribute("width", String(available));
    this.svg.setAttribute("height", String(Math.round(this.height * zoom)));
    this.svg.setAttribute("viewBox", `0 0 ${available} ${Math.round(this.height * zoom)}`);
    this.render();
  }

  render() {
    applyViewTransform(this.layers.viewport, this.view);
    renderShapes(this.layers.shapes, this.shapes, { view: this.view, colors: this.colors });
    this.answerLayer ??= svgEl("g", { class: "answers" }, this.svg);
    this.answerLayer.replaceChildren();
    for (const [replica, shapes] of this.answers ?? new Map()) {
      const g = svgEl("g", { class: "answer", "data-replica": replica }, this.answerLayer);
      renderShapes(g, shapes, { view: this.view, colors: this.colors, captions: false });
    }
    renderPins(this.pinLayer, this.pins, this.view);
  }

  /** Draw (or, with null, remove) one labeler's answer over the merged shapes. */
  showAnswer(replica, shapes) {
    this.answers ??= new Map();
    if (shapes) this.answers.set(replica, shapes);
    else this.answers.delete(replica);
    this.render();
  }

  setPins(pins) {
    this.pins = pins;
    this.render();
  }
}

/**
 * Let the reviewer pin the rejection comment to a point: a click on the image
 * sets `#pin-x` / `#pin-y` (image pixels) and shows the marker; `#pin-clear`
 * removes it.
 */
function enablePinning(viewer, doc) {
  const xInput = doc.getElementById("pin-x");
  const yInput = doc.getElementById("pin-y");
  const status = doc.getElementById("pin-status");
  const clear = doc.getElementById("pin-clear");
  if (!xInput || !yInput) return;
  const show = (pin) => {
    xInput.value = pin ? String(pin.x) : "";
    yInput.value = pin ? String(pin.y) : "";
    viewer.setPins(pin ? [pin] : []);
    if (status) status.textContent = pin ? `Pinned at (${pin.x}, ${pin.y}) px` : "Click the image to pin your comment to a point (optional).";
    if (clear) clear.hidden = !pin;
  };
  viewer.svg.addEventListener("click", (event) => show(pinFromEvent(event, viewer.svg, viewer.view, viewer.width, viewer.height)));
  clear?.addEventListener("click", () => show(null));
  show(null);
}

/** Review page entry: reads `#review-config` and draws into `#review-canvas`. */
export function mountReview(doc = document) {
  const configEl = doc.getElementById("review-config");
  const svg = doc.getElementById("review-canvas");
  if (!configEl || !svg) return null;
  const config = JSON.parse(configEl.textContent);
  const viewer = new Viewer(svg, {
    imageUrl: config.imageUrl,
    width: config.width,
    height: config.height,
    labels: config.labels,
    annotation: config.annotation,
  });
  enablePinning(viewer, doc);
  for (const box of doc.querySelectorAll("input.answer-toggle")) {
    const replica = Number(box.dataset.replica);
    const answer = (config.answers ?? []).find((a) => a.replica === replica);
    box.addEventListener("change", () => viewer.showAnswer(replica, box.checked ? answer?.annotation?.shapes ?? [] : null));
  }
  return viewer;
}
