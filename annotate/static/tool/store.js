/**
 * The annotation store: the only writer of annotation state.
 *
 * It holds one per-item document `{version: 1, tags: [Tag], shapes: [Shape]}`
 * and the current selection. Views read `store.shapes`, `store.tags`,
 * `store.selectedId` and subscribe to events; they never change state
 * themselves. State objects are deep-frozen, so handing them out is safe and
 * an accidental write throws in strict mode instead of silently diverging.
 * Inputs are copied, never mutated.
 *
 * Events (CustomEvent, `detail` shown):
 *   "change"  {reason, ids}  reason: load | add | update | relabel | remove | tags | undo | redo
 *   "select"  {id}           id is null when nothing is selected
 *
 * `version` counts mutations since construction (not loads); the autosaver
 * compares it to the version it last saved.
 *
 * Shapes of types the tool does not know (e.g. polygons) and unknown
 * top-level keys are kept exactly as loaded.
 */

import { finalizeBox } from "./geometry.js";

const clone = (v) => structuredClone(v);

function deepFreeze(value) {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function defaultId() {
  return globalThis.crypto.randomUUID();
}

export class AnnotationStore extends EventTarget {
  /**
   * @param {object} opts
   * @param {string} [opts.user]  author written on every edit
   * @param {{width: number, height: number}} [opts.image]  boxes are clamped to it
   * @param {() => string} [opts.now]  ISO timestamp source (injectable for tests)
   * @param {() => string} [opts.newId]  id source (injectable for tests)
   * @param {number} [opts.undoLimit]
   */
  constructor({ user = "", image = { width: Infinity, height: Infinity }, now, newId, undoLimit = 100 } = {}) {
    super();
    this.user = user;
    this.image = { width: image.width, height: image.height };
    this._now = now ?? (() => new Date().toISOString());
    this._newId = newId ?? defaultId;
    this._undoLimit = undoLimit;
    this._extra = {};
    this._state = deepFreeze({ tags: [], shapes: [] });
    this._selectedId = null;
    this._past = [];
    this._future = [];
    this._version = 0;
  }

  // ---- reading -------------------------------------------------------------

  get version() { return this._version; }
  get shapes() { return this._state.shapes; }
  get tags() { return this._state.tags; }
  get selectedId() { return this._selectedId; }
  get selected() { return this.getShape(this._selectedId); }
  get canUndo() { return this._past.length > 0; }
  get canRedo() { return this._future.length > 0; }

  getShape(id) {
    return id == null ? null : this._state.shapes.find((s) => s.id === id) ?? null;
  }

  hasTag(label) {
    return this._state.tags.some((t) => t.label === label);
  }

  /** A fresh, mutable copy of the document to send to the server. */
  getDocument() {
    return clone({ ...this._extra, version: 1, tags: this._state.tags, shapes: this._state.shapes });
  }

  // ---- writing -------------------------------------------------------------

  /** Replace the whole document (from the server). Clears undo history and selection. */
  load(doc) {
    const { version: _v, tags = [], shapes = [], ...extra } = doc ?? {};
    this._extra = clone(extra);
    this._state = deepFreeze(clone({ tags, shapes }));
    this._past = [];
    this._future = [];
    this._emit("load", []);
    this.select(null);
  }

  /**
   * Add a human bbox. The box is clamped to the image and rounded; returns the
   * new (frozen) shape, or null if it is smaller than the minimum and was discarded.
   */
  addBox({ label, bbox, attributes = {} }) {
    const stored = finalizeBox(bbox, this.image.width, this.image.height);
    if (!stored) return null;
    const shape = {
      id: this._newId(),
      type: "bbox",
      label,
      bbox: stored,
      source: { type: "human" },
      attributes: clone(attributes),
      author: this.user,
      updated_at: this._now(),
    };
    this._commit("add", [shape.id], (s) => ({ ...s, shapes: [...s.shapes, shape] }));
    return this.getShape(shape.id);
  }

  /**
   * Set a bbox's geometry. A model pre-label becomes a human shape (same id).
   * Returns false (and changes nothing) if the id is unknown, the result would
   * be too small, or nothing changed.
   */
  updateBox(id, bbox) {
    const shape = this.getShape(id);
    if (!shape || shape.type !== "bbox") return false;
    const stored = finalizeBox(bbox, this.image.width, this.image.height);
    if (!stored) return false;
    if (shape.bbox && stored.every((v, i) => v === shape.bbox[i])) return false;
    this._replaceShape("update", id, { bbox: stored });
    return true;
  }

  /** Change a shape's label; a model pre-label becomes human. */
  setLabel(id, label) {
    const shape = this.getShape(id);
    if (!shape || shape.label === label) return false;
    this._replaceShape("relabel", id, { label });
    return true;
  }

  removeShape(id) {
    if (!this.getShape(id)) return false;
    this._commit("remove", [id], (s) => ({ ...s, shapes: s.shapes.filter((x) => x.id !== id) }));
    if (this._selectedId === id) this.select(null);
    return true;
  }

  /** Turn an image-level tag on or off. */
  setTag(label, on) {
    if (this.hasTag(label) === Boolean(on)) return false;
    if (on) {
      const tag = { id: this._newId(), label, source: { type: "human" }, author: this.user, updated_at: this._now() };
      this._commit("tags", [tag.id], (s) => ({ ...s, tags: [...s.tags, tag] }));
    } else {
      const ids = this._state.tags.filter((t) => t.label === label).map((t) => t.id);
      this._commit("tags", ids, (s) => ({ ...s, tags: s.tags.filter((t) => t.label !== label) }));
    }
    return true;
  }

  select(id) {
    const next = id != null && this.getShape(id) ? id : null;
    if (next === this._selectedId) return;
    this._selectedId = next;
    this.dispatchEvent(new CustomEvent("select", { detail: { id: next } }));
  }

  undo() { return this._travel(this._past, this._future, "undo"); }
  redo() { return this._travel(this._future, this._past, "redo"); }

  // ---- internals -----------------------------------------------------------

  _replaceShape(reason, id, changes) {
    const edited = {
      ...this.getShape(id),
      ...changes,
      source: { type: "human" },
      author: this.user,
      updated_at: this._now(),
    };
    this._commit(reason, [id], (s) => ({ ...s, shapes: s.shapes.map((x) => (x.id === id ? edited : x)) }));
  }

  _commit(reason, ids, update) {
    this._past.push(this._state);
    if (this._past.length > this._undoLimit) this._past.shift();
    this._future = [];
    // Structural sharing: untouched shapes are the same frozen objects, so undo snapshots are cheap.
    this._state = deepFreeze(update(this._state));
    this._version += 1;
    this._emit(reason, ids);
  }

  _travel(from, to, reason) {
    if (!from.length) return false;
    to.push(this._state);
    this._state = from.pop();
    this._version += 1;
    this._emit(reason, []);
    if (this._selectedId && !this.getShape(this._selectedId)) this.select(null);
    return true;
  }

  _emit(reason, ids) {
    this.dispatchEvent(new CustomEvent("change", { detail: { reason, ids } }));
  }
}
