/**
 * The drawing surface: an <svg> showing the item image and its boxes, with
 * pointer interaction. It never changes annotation state and never talks to
 * the server: it dispatches events and the page (tool.js) asks the store.
 *
 * Events (CustomEvent on the Canvas instance, `detail` shown):
 *   "draw"       {bbox}        a new box was dragged out (image px, not yet clamped/rounded)
 *   "update"     {id, bbox}    a box was moved or resized (image px)
 *   "select"     {id|null}     the user clicked a box / empty space
 *   "modechange" {mode}        also mirrored to `data-state` on the <svg>
 *   "viewchange" {view}
 *
 * Tools (what a primary-button drag does; set by the page):
 *   "select"  drag a box body = move, drag a handle of the selected box = resize
 *   "box"     drag = draw a new box (a handle of the selected box still resizes)
 *   "pan"     drag = pan
 * The middle button, or the primary button with Space held, always pans.
 *
 * Interaction modes and which calls each allows:
 *
 *   IDLE      pointerdown starts DRAWING, MOVING, RESIZING or PANNING (by tool,
 *             button and what is under the pointer); wheel / zoomBy / fit;
 *             setShapes, setSelected, setColors, setDrawLabel, setTool,
 *             setReadOnly, setSpaceHeld; cancel is a no-op.
 *   DRAWING   pointermove grows the draft box; pointerup dispatches "draw"
 *             (or, if the draft is under 1 px, treats it as a click and
 *             dispatches "select") and returns to IDLE; cancel() drops the
 *             draft. wheel / zoomBy / fit are allowed (the draft is kept in
 *             image coordinates). setShapes / setSelected just re-render.
 *             setTool / setReadOnly cancel the draft first.
 *   MOVING    pointermove drags a preview of the box (the store is untouched
 *   RESIZING  until pointerup, so one gesture is one undo step); pointerup
 *             dispatches "update" if the box changed; cancel() restores it.
 *             wheel / zoomBy / fit allowed. setShapes cancels the gesture if
 *             the dragged shape disappeared. setTool / setReadOnly cancel.
 *   PANNING   pointermove pans; pointerup returns to IDLE. wheel / zoomBy /
 *             fit are ignored (they would fight the drag).
 *
 * Read-only (setReadOnly(true)): only selection, pan and zoom; no DRAWING,
 * MOVING or RESIZING is ever entered.
 */

import {
  bboxToScreen,
  clampPoint,
  cursorForHandle,
  fitView,
  hitHandle,
  hitShape,
  HANDLES,
  handlePositions,
  isTooSmall,
  moveBox,
  normalizeBox,
  panBy,
  resizeBox,
  screenToImage,
  zoomAt,
} from "./geometry.js";
import { applyViewTransform, createLayers, labelColors, renderPins, renderShapes, svgEl, UNKNOWN_COLOR } from "./viewer.js";

export const Mode = Object.freeze({
  IDLE: "idle",
  DRAWING: "drawing",
  MOVING: "moving",
  RESIZING: "resizing",
  PANNING: "panning",
});

export const Tool = Object.freeze({ SELECT: "select", BOX: "box", PAN: "pan" });

/** Half the side of a resize handle, and how close the pointer must be, in screen px. */
const HANDLE_SIZE = 4;
const HANDLE_TOLERANCE = 7;
const ZOOM_STEP = 1.25;

export class Canvas extends EventTarget {
  constructor(svg, { imageUrl, width, height }) {
    super();
    this.svg = svg;
    this.width = width;
    this.height = height;
    this.layers = createLayers(svg, { imageUrl, width, height });
    this.pinLayer = svgEl("g", { class: "pins" }, svg);
    this.overlay = svgEl("g", { class: "overlay" }, svg);
    this.pins = [];
    this.view = { zoom: 1, panX: 0, panY: 0 };
    this.mode = Mode.IDLE;
    this.tool = Tool.SELECT;
    this.shapes = [];
    this.selectedId = null;
    this.colors = new Map();
    this.drawLabel = null;
    this.readOnly = false;
    this.spaceHeld = false;
    this._userMovedView = false;
    this._gesture = null; // per-mode data while not IDLE
    this._listen();
    this._setMode(Mode.IDLE);
    this.fit();
  }

  // ---- calls from the page -------------------------------------------------

  setShapes(shapes) {
    this.shapes = shapes;
    const g = this._gesture;
    if (g?.id && !shapes.some((s) => s.id === g.id)) this.cancel();
    this.render();
  }

  setSelected(id) {
    this.selectedId = id;
    this.render();
  }

  setColors(colorsOrLabels) {
    this.colors = colorsOrLabels instanceof Map ? colorsOrLabels : labelColors(colorsOrLabels);
    this.render();
  }

  setDrawLabel(label) {
    this.drawLabel = label;
    this.render();
  }

  setTool(tool) {
    if (!Object.values(Tool).includes(tool)) return;
    if (this.readOnly && tool === Tool.BOX) return;
    this.cancel();
    this.tool = tool;
    this.svg.dataset.tool = tool;
    this._updateCursor(null);
    this.dispatchEvent(new CustomEvent("toolchange", { detail: { tool } }));
  }

  setReadOnly(readOnly) {
    this.cancel();
    this.readOnly = Boolean(readOnly);
    if (this.readOnly && this.tool === Tool.BOX) this.setTool(Tool.SELECT);
    this.render();
  }

  setSpaceHeld(held) {
    this.spaceHeld = Boolean(held);
    if (this.mode === Mode.IDLE) this._updateCursor(null);
  }

  zoomBy(factor, center = null) {
    if (this.mode === Mode.PANNING) return;
    const rect = this._size();
    const c = center ?? [rect.width / 2, rect.height / 2];
    this._userMovedView = true;
    this._setView(zoomAt(this.view, factor, c));
  }

  zoomIn() { this.zoomBy(ZOOM_STEP); }
  zoomOut() { this.zoomBy(1 / ZOOM_STEP); }

  fit() {
    if (this.mode === Mode.PANNING) return;
    const { width, height } = this._size();
    this._userMovedView = false;
    this._setView(fitView(this.width, this.height, width || this.width, height || this.height));
  }

  /** Abort the gesture in progress (Escape). Returns true if there was one. */
  cancel() {
    if (this.mode === Mode.IDLE) return false;
    this._gesture = null;
    this._setMode(Mode.IDLE);
    this.render();
    return true;
  }

  destroy() {
    this._observer?.disconnect();
    for (const [type, fn, opts] of this._handlers) this.svg.removeEventListener(type, fn, opts);
  }

  // ---- rendering -----------------------------------------------------------

  render() {
    applyViewTransform(this.layers.viewport, this.view);
    const g = this._gesture;
    const overrides = g?.preview && g.id ? new Map([[g.id, g.preview]]) : null;
    renderShapes(this.layers.shapes, this.shapes, {
      view: this.view,
      colors: this.colors,
      selectedId: this.selectedId,
      overrides,
    });
    renderPins(this.pinLayer, this.pins, this.view);
    this._renderOverlay();
  }

  /** Show reviewers' pins (`{x, y}` image pixels, or null for an unpinned comment), numbered from 1. */
  setPins(pins) {
    this.pins = pins;
    this.render();
  }

  _renderOverlay() {
    this.overlay.replaceChildren();
    const g = this._gesture;
    if (this.mode === Mode.DRAWING && g.preview) {
      const [x, y, w, h] = bboxToScreen(g.preview, this.view);
      const color = this.colors.get(this.drawLabel) ?? UNKNOWN_COLOR;
      svgEl("rect", { class: "draft", x, y, width: w, height: h, stroke: color, fill: color }, this.overlay);
      return;
    }
    if (this.readOnly) return;
    const selected = this._selectedBox();
    if (!selected) return;
    const bbox = g?.id === selected.id && g.preview ? g.preview : selected.bbox;
    const pos = handlePositions(bboxToScreen(bbox, this.view));
    for (const name of HANDLES) {
      const [hx, hy] = pos[name];
      svgEl("rect", {
        class: "handle",
        "data-handle": name,
        x: hx - HANDLE_SIZE,
        y: hy - HANDLE_SIZE,
        width: HANDLE_SIZE * 2,
        height: HANDLE_SIZE * 2,
        style: `cursor: ${cursorForHandle(name)}`,
      }, this.overlay);
    }
  }

  // ---- pointer handling ----------------------------------------------------

  _listen() {
    this._handlers = [
      ["pointerdown", (e) => this._onPointerDown(e)],
      ["pointermove", (e) => this._onPointerMove(e)],
      ["pointerup", (e) => this._onPointerUp(e)],
      ["pointercancel", () => this.cancel()],
      ["wheel", (e) => this._onWheel(e), { passive: false }],
      // Stop the browser's middle-button autoscroll so middle-drag can pan.
      ["mousedown", (e) => { if (e.button === 1) e.preventDefault(); }],
      ["contextmenu", (e) => { if (this.mode !== Mode.IDLE) e.preventDefault(); }],
    ];
    for (const [type, fn, opts] of this._handlers) this.svg.addEventListener(type, fn, opts);
    if (typeof ResizeObserver === "function") {
      this._observer = new ResizeObserver(() => (this._userMovedView ? this.render() : this.fit()));
      this._observer.observe(this.svg);
    }
  }

  _local(e) {
    const r = this.svg.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  _onPointerDown(e) {
    if (this.mode !== Mode.IDLE) return;
    const p = this._local(e);
    const wantsPan = e.button === 1 || (e.button === 0 && (this.spaceHeld || this.tool === Tool.PAN));
    if (wantsPan) {
      this._begin(e, Mode.PANNING, { start: p, startView: this.view });
      return;
    }
    if (e.button !== 0) return;
    const ip = screenToImage(p, this.view);

    const selected = this._selectedBox();
    if (selected && !this.readOnly) {
      const handle = hitHandle(bboxToScreen(selected.bbox, this.view), p, HANDLE_TOLERANCE);
      if (handle) {
        this._begin(e, Mode.RESIZING, { id: selected.id, handle, original: selected.bbox, preview: selected.bbox });
        return;
      }
    }
    if (this.tool === Tool.BOX && !this.readOnly) {
      const start = clampPoint(ip, this.width, this.height);
      this._begin(e, Mode.DRAWING, { start, screenStart: p, preview: normalizeBox(start, start) });
      return;
    }
    const id = this._hit(p);
    this._select(id);
    const shape = id && this.shapes.find((s) => s.id === id);
    if (shape && shape.type === "bbox" && !this.readOnly) {
      this._begin(e, Mode.MOVING, { id, start: ip, original: shape.bbox, preview: shape.bbox });
    }
  }

  _onPointerMove(e) {
    const p = this._local(e);
    const g = this._gesture;
    switch (this.mode) {
      case Mode.IDLE:
        this._updateCursor(p);
        return;
      case Mode.PANNING:
        this._setView(panBy(g.startView, p[0] - g.start[0], p[1] - g.start[1]));
        this._userMovedView = true;
        return;
      case Mode.DRAWING: {
        const ip = clampPoint(screenToImage(p, this.view), this.width, this.height);
        g.preview = normalizeBox(g.start, ip);
        break;
      }
      case Mode.MOVING: {
        const [ix, iy] = screenToImage(p, this.view);
        g.preview = moveBox(g.original, ix - g.start[0], iy - g.start[1], this.width, this.height);
        break;
      }
      case Mode.RESIZING: {
        const ip = clampPoint(screenToImage(p, this.view), this.width, this.height);
        g.preview = resizeBox(g.original, g.handle, ip);
        break;
      }
      default:
        return;
    }
    this.render();
  }

  _onPointerUp(e) {
    if (this.mode === Mode.IDLE) return;
    const mode = this.mode;
    const g = this._gesture;
    this._gesture = null;
    this._setMode(Mode.IDLE);
    try {
      this.svg.releasePointerCapture?.(e.pointerId);
    } catch {
      // The capture may already be gone (element re-rendered); nothing to undo.
    }
    if (mode === Mode.DRAWING) {
      if (isTooSmall(g.preview)) {
        // A click, not a drag: select what is under it.
        this._select(this._hit(this._local(e)));
      } else {
        this.dispatchEvent(new CustomEvent("draw", { detail: { bbox: g.preview } }));
      }
    } else if ((mode === Mode.MOVING || mode === Mode.RESIZING) && g.preview) {
      const changed = g.preview.some((v, i) => v !== g.original[i]);
      if (changed) this.dispatchEvent(new CustomEvent("update", { detail: { id: g.id, bbox: g.preview } }));
    }
    this.render();
    this._updateCursor(this._local(e));
  }

  _onWheel(e) {
    e.preventDefault();
    if (this.mode === Mode.PANNING) return;
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const factor = Math.exp(-e.deltaY * unit * 0.0015);
    this.zoomBy(factor, this._local(e));
  }

  // ---- helpers -------------------------------------------------------------

  _begin(e, mode, gesture) {
    e.preventDefault();
    this._gesture = gesture;
    try {
      this.svg.setPointerCapture?.(e.pointerId);
    } catch {
      // Synthetic events have no capturable pointer; the gesture still works.
    }
    this._setMode(mode);
    this.render();
  }

  _setMode(mode) {
    this.mode = mode;
    this.svg.dataset.state = mode;
    if (mode === Mode.PANNING) this.svg.style.cursor = "grabbing";
    this.dispatchEvent(new CustomEvent("modechange", { detail: { mode } }));
  }

  _setView(view) {
    this.view = view;
    this.render();
    this.dispatchEvent(new CustomEvent("viewchange", { detail: { view } }));
  }

  _select(id) {
    if (id === this.selectedId) return;
    this.dispatchEvent(new CustomEvent("select", { detail: { id } }));
  }

  _selectedBox() {
    const s = this.selectedId && this.shapes.find((x) => x.id === this.selectedId);
    return s && s.type === "bbox" && Array.isArray(s.bbox) ? s : null;
  }

  _hit(screenPoint) {
    const boxes = this.shapes
      .filter((s) => s.type === "bbox" && Array.isArray(s.bbox))
      .map((s) => ({ id: s.id, bbox: bboxToScreen(s.bbox, this.view) }));
    return hitShape(boxes, screenPoint, this.selectedId, 2);
  }

  _updateCursor(p) {
    let cursor = "default";
    if (this.spaceHeld || this.tool === Tool.PAN) cursor = "grab";
    else if (p) {
      const selected = this.readOnly ? null : this._selectedBox();
      const handle = selected && hitHandle(bboxToScreen(selected.bbox, this.view), p, HANDLE_TOLERANCE);
      if (handle) cursor = cursorForHandle(handle);
      else if (this.tool === Tool.BOX && !this.readOnly) cursor = "crosshair";
      else if (this._hit(p)) cursor = this.readOnly ? "pointer" : "move";
    } else if (this.tool === Tool.BOX) cursor = "crosshair";
    this.svg.style.cursor = cursor;
  }

  _size() {
    const r = this.svg.getBoundingClientRect();
    return { width: r.width, height: r.height };
  }
}
