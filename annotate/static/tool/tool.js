/**
 * Labeling page entry (templates/tool/label.html). Wires the pieces:
 *
 *   api.js     loads the task, saves and submits (the only module with URLs)
 *   activity.js  the active-time clock; this file feeds it pointer, key,
 *              wheel and visibility events, api.js sends its seconds with saves
 *   lease.js   when to send the lease heartbeat (visible tab, recent work)
 *   store.js   the only writer of annotation state; emits "change"/"select"
 *   canvas.js  draws and reports gestures as events; never writes state
 *   this file  turns canvas/DOM events into store calls, renders the side
 *              panels from the store, runs the autosaver and the keyboard.
 *
 * Bootstrap: `<script type="application/json" id="tool-config">` with
 * {taskId, apiBase, csrfToken, user, homeUrl, taskUrlTemplate}.
 */

import { ActivityClock } from "./activity.js";
import { Autosaver, conflictRevision, createApi, csrfTokenFrom, formatFieldErrors } from "./api.js";
import { Canvas, Tool } from "./canvas.js";
import { LeasePolicy } from "./lease.js";
import { AnnotationStore } from "./store.js";
import { labelColors, sourceText, UNKNOWN_COLOR } from "./viewer.js";

const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function isTextInput(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
}

function formatDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? "") : d.toLocaleString();
}

class LabelingPage {
  constructor(config, api, task, clock = null) {
    this.config = config;
    this.api = api;
    this.task = task;
    this.clock = clock;
    this.canEdit = Boolean(task.can_edit);
    this.shapeLabels = task.labels.filter((l) => l.kind !== "tag");
    this.tagLabels = task.labels.filter((l) => l.kind === "tag");
    this.colors = labelColors(task.labels);
    this.currentLabel = this.shapeLabels[0]?.name ?? null;
    this.navigating = false;
    this.submitting = false;

    this.store = new AnnotationStore({
      user: config.user ?? "",
      image: { width: task.item.width, height: task.item.height },
    });
    this.store.load(task.annotation ?? { version: 1, tags: [], shapes: [] });

    this.canvas = new Canvas($("#canvas"), {
      imageUrl: task.item.image_url,
      width: task.item.width,
      height: task.item.height,
    });
    this.canvas.setColors(this.colors);
    this.canvas.setDrawLabel(this.currentLabel);
    this.canvas.setReadOnly(!this.canEdit);
    this.canvas.setShapes(this.store.shapes);

    this.saver = new Autosaver({
      save: (doc, baseRevision) => this.api.saveAnnotation(this.config.taskId, baseRevision, doc),
      getDocument: () => this.store.getDocument(),
      getVersion: () => this.store.version,
      revision: task.revision ?? 0,
    });

    this.renderHeader();
    this.renderComments();
    this.renderLabelPicker();
    this.renderTags();
    this.renderShapeList();
    this.wire();
    this.setTool(Tool.SELECT);
    this.renderSaveStatus();
    this.updateButtons();
  }

  // ---- wiring --------------------------------------------------------------

  wire() {
    const { store, canvas, saver } = this;

    store.addEventListener("change", (e) => {
      canvas.setShapes(store.shapes);
      this.renderShapeList();
      if (e.detail.reason === "tags" || e.detail.reason === "undo" || e.detail.reason === "redo") this.syncTags();
      this.updateButtons();
      if (e.detail.reason !== "load") saver.changed();
    });
    store.addEventListener("select", (e) => {
      canvas.setSelected(e.detail.id);
      this.highlightSelectedRow();
      this.updateButtons();
    });

    canvas.addEventListener("draw", (e) => {
      if (!this.canEdit || !this.currentLabel) return;
      const shape = store.addBox({ label: this.currentLabel, bbox: e.detail.bbox });
      if (shape) {
        store.select(shape.id);
        // One box per "N", as in CVAT; the new box is selected for adjusting.
        this.setTool(Tool.SELECT);
      }
    });
    canvas.addEventListener("update", (e) => store.updateBox(e.detail.id, e.detail.bbox));
    canvas.addEventListener("select", (e) => store.select(e.detail.id));
    canvas.addEventListener("toolchange", (e) => this.renderTool(e.detail.tool));

    saver.addEventListener("status", () => this.renderSaveStatus());

    const click = (sel, fn) => $(sel)?.addEventListener("click", (e) => {
      e.preventDefault();
      fn();
      // Keep keyboard shortcuts (Space, Delete) on the canvas, not the button.
      if (e.currentTarget instanceof HTMLElement && e.currentTarget.id !== "submit-btn") canvas.svg.focus({ preventScroll: true });
    });
    click("#mode-select", () => this.setTool(Tool.SELECT));
    click("#mode-box", () => this.setTool(Tool.BOX));
    click("#mode-pan", () => this.setTool(Tool.PAN));
    click("#zoom-in", () => canvas.zoomIn());
    click("#zoom-out", () => canvas.zoomOut());
    click("#zoom-fit", () => canvas.fit());
    click("#undo-btn", () => store.undo());
    click("#redo-btn", () => store.redo());
    click("#delete-btn", () => this.deleteSelected());
    click("#submit-btn", () => this.submit());
    click("#skip-btn", () => this.skip());

    document.addEventListener("keydown", (e) => this.onKeyDown(e));
    document.addEventListener("keyup", (e) => {
      if (e.key === " ") canvas.setSpaceHeld(false);
    });
    window.addEventListener("blur", () => canvas.setSpaceHeld(false));
    window.addEventListener("beforeunload", (e) => {
      if (this.navigating || !saver.hasUnsavedChanges) return;
      e.preventDefault();
      e.returnValue = "";
    });
  }

  onKeyDown(e) {
    const { store, canvas } = this;
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key;
    if (mod && (key === "s" || key === "S")) {
      e.preventDefault();
      this.saveNow();
      return;
    }
    if (mod && key === "Enter") {
      e.preventDefault();
      this.submit();
      return;
    }
    if (isTextInput(e.target)) return;
    if (mod && !e.altKey && (key === "z" || key === "Z")) {
      e.preventDefault();
      if (e.shiftKey) store.redo();
      else store.undo();
      return;
    }
    if (mod && (key === "y" || key === "Y")) {
      e.preventDefault();
      store.redo();
      return;
    }
    if (mod || e.altKey) return;

    if (key === " ") {
      e.preventDefault(); // no page scroll, no "click" on a focused button
      canvas.setSpaceHeld(true);
      return;
    }
    if (key === "Escape") {
      if (!canvas.cancel()) {
        if (canvas.tool !== Tool.SELECT) this.setTool(Tool.SELECT);
        else store.select(null);
      }
      return;
    }
    if (key === "Delete" || key === "Backspace") {
      e.preventDefault();
      this.deleteSelected();
      return;
    }
    if (/^[1-9]$/.test(key)) {
      const label = this.shapeLabels[Number(key) - 1];
      if (label) this.chooseLabel(label.name);
      return;
    }
    const actions = {
      n: () => this.setTool(Tool.BOX),
      v: () => this.setTool(Tool.SELECT),
      h: () => this.setTool(Tool.PAN),
      "+": () => canvas.zoomIn(),
      "=": () => canvas.zoomIn(),
      "-": () => canvas.zoomOut(),
      0: () => canvas.fit(),
      f: () => canvas.fit(),
    };
    const action = actions[key.toLowerCase()];
    if (action) {
      e.preventDefault();
      action();
    }
  }

  // ---- actions -------------------------------------------------------------

  setTool(tool) {
    if (tool === Tool.BOX && (!this.canEdit || !this.currentLabel)) return;
    this.canvas.setTool(tool);
    this.renderTool(tool);
  }

  chooseLabel(name) {
    this.currentLabel = name;
    this.canvas.setDrawLabel(name);
    const selected = this.store.selected;
    if (this.canEdit && selected && selected.type === "bbox") this.store.setLabel(selected.id, name);
    this.renderLabelPickerState();
    this.updateButtons();
  }

  deleteSelected() {
    if (!this.canEdit) return;
    const selected = this.store.selected;
    if (selected && selected.type === "bbox") this.store.removeShape(selected.id);
  }

  async saveNow() {
    if (!this.canEdit) return true;
    return this.saver.flush();
  }

  async submit() {
    if (!this.canEdit || this.submitting) return;
    this.submitting = true;
    this.updateButtons();
    try {
      // Save once more if the person worked since the last save, so that time is counted too.
      const unreported = (this.clock?.pending() ?? 0) >= 0.05;
      if (!(await this.saver.flush({ force: unreported }))) {
        if (this.saver.status !== "conflict") this.showBanner("Not submitted: your work could not be saved. Fix the problem and try again.", "error");
        return;
      }
      const result = await this.api.submitTask(this.config.taskId, this.saver.revision);
      this.navigating = true;
      window.location.assign(this.nextUrl(result?.next_task_id ?? null));
    } catch (err) {
      this.showApiError("Submit failed", err);
    } finally {
      this.submitting = false;
      this.updateButtons();
    }
  }

  /** Ask why, save what there is, give the task back, and open the next one. */
  async skip() {
    if (!this.canEdit || this.submitting) return;
    const answer = window.prompt("Why do you skip this task? It goes to someone else and will not come back to you.");
    if (answer === null) return;
    const reason = answer.trim();
    if (!reason) {
      this.showBanner("Not skipped: say why you skip the task.", "error");
      return;
    }
    this.submitting = true;
    this.updateButtons();
    try {
      if (!(await this.saver.flush())) {
        if (this.saver.status !== "conflict") this.showBanner("Not skipped: your work could not be saved. Fix the problem and try again.", "error");
        return;
      }
      const result = await this.api.skipTask(this.config.taskId, reason);
      this.navigating = true;
      window.location.assign(this.nextUrl(result?.next_task_id ?? null));
    } catch (err) {
      this.showApiError("Skip failed", err);
    } finally {
      this.submitting = false;
      this.updateButtons();
    }
  }

  nextUrl(nextId) {
    if (nextId !== null && nextId !== undefined) {
      return (this.config.taskUrlTemplate ?? "/label/tasks/{id}").replace("{id}", encodeURIComponent(nextId));
    }
    const home = this.config.homeUrl ?? "/";
    return `${home}${home.includes("?") ? "&" : "?"}done=1`;
  }

  // ---- rendering -----------------------------------------------------------

  renderHeader() {
    const { task } = this;
    $("#task-title").textContent = `${task.project?.name ?? "Project"} · ${task.item?.name ?? ""}`;
    const state = $("#task-state");
    state.textContent = task.state.replace("_", " ");
    state.dataset.state = task.state;
    document.title = `${task.item?.name ?? "Task"} · annotate`;
    $("#tool").dataset.canEdit = String(this.canEdit);
  }

  renderComments() {
    const panel = $("#comments");
    const comments = this.task.comments ?? [];
    if (!comments.length) {
      panel.hidden = true;
      return;
    }
    const rejected = this.task.state === "rejected";
    const prefix = rejected ? "Returned by reviewer: " : "Reviewer: ";
    // Comment i's pin is marker i + 1 on the image.
    this.canvas.setPins(comments.map((c) => c.pin ?? null));
    panel.replaceChildren(
      el("ul", { class: "comment-list" }, comments.map((c, i) =>
        el("li", { class: "comment" },
          el("p", {}, el("strong", {}, prefix), c.pin ? el("span", { class: "pin-ref", title: `pinned at (${c.pin.x}, ${c.pin.y}) px` }, `📍${i + 1} `) : "", c.body ?? ""),
          el("small", {}, `${c.author ?? ""}${c.created_at ? ` · ${formatDate(c.created_at)}` : ""}`)))),
    );
    panel.classList.toggle("rejected", rejected);
    panel.hidden = false;
  }

  renderLabelPicker() {
    const picker = $("#label-picker");
    picker.replaceChildren(
      ...this.shapeLabels.map((l, i) =>
        el("button", {
          type: "button",
          class: "label-btn",
          dataset: { label: l.name },
          title: i < 9 ? `${l.name} (key ${i + 1})` : l.name,
          onclick: (e) => {
            this.chooseLabel(l.name);
            e.currentTarget.blur();
          },
        },
        el("span", { class: "swatch", style: `background:${l.color || UNKNOWN_COLOR}` }),
        el("span", { class: "label-name" }, l.name),
        i < 9 ? el("kbd", {}, String(i + 1)) : null)),
    );
    if (!this.shapeLabels.length) picker.append(el("p", { class: "muted" }, "This project has no box labels."));
    this.renderLabelPickerState();
  }

  renderLabelPickerState() {
    for (const btn of document.querySelectorAll("#label-picker button[data-label]")) {
      const on = btn.dataset.label === this.currentLabel;
      btn.classList.toggle("active", on);
      btn.setAttribute("aria-pressed", String(on));
    }
  }

  renderTags() {
    const list = $("#tag-list");
    list.replaceChildren(
      ...this.tagLabels.map((l) =>
        el("label", { class: "tag-option" },
          el("input", {
            type: "checkbox",
            dataset: { tag: l.name },
            disabled: !this.canEdit,
            onchange: (e) => this.store.setTag(l.name, e.currentTarget.checked),
          }),
          el("span", { class: "swatch", style: `background:${l.color || UNKNOWN_COLOR}` }),
          el("span", {}, l.name))),
    );
    if (!this.tagLabels.length) list.append(el("p", { class: "muted" }, "No image tags in this project."));
    $("#tags-section").hidden = !this.tagLabels.length;
    this.syncTags();
  }

  syncTags() {
    for (const box of document.querySelectorAll("#tag-list input[data-tag]")) {
      box.checked = this.store.hasTag(box.dataset.tag);
    }
  }

  renderShapeList() {
    const list = $("#shape-list");
    const shapes = this.store.shapes;
    $("#shape-count").textContent = String(shapes.length);
    list.replaceChildren(...shapes.map((s, i) => this.shapeRow(s, i)));
    if (!shapes.length) list.append(el("li", { class: "muted empty" }, "No shapes yet. Press N and drag on the image."));
    this.highlightSelectedRow();
  }

  shapeRow(shape, index) {
    const color = this.colors.get(shape.label) ?? UNKNOWN_COLOR;
    const editable = this.canEdit && shape.type === "bbox";
    const names = this.shapeLabels.map((l) => l.name);
    if (shape.label && !names.includes(shape.label)) names.push(shape.label);
    const select = el("select", {
      class: "shape-label-select",
      "aria-label": `Label of shape ${index + 1}`,
      disabled: !editable,
      onchange: (e) => this.store.setLabel(shape.id, e.currentTarget.value),
    }, names.map((n) => el("option", { value: n, selected: n === shape.label }, n)));
    const src = sourceText(shape.source);
    return el("li", {
      class: `shape-row${src ? " model" : ""}`,
      dataset: { id: shape.id },
      onclick: (e) => {
        if (!(e.target instanceof HTMLSelectElement) && !(e.target instanceof HTMLButtonElement)) this.store.select(shape.id);
      },
    },
    el("span", { class: "swatch", style: `background:${color}` }),
    shape.type === "bbox" ? select : el("span", { class: "shape-type" }, `${shape.label ?? "?"} (${shape.type}, read-only)`),
    el("span", { class: "shape-source", title: src || (shape.source?.type ?? "human") }, src || (shape.source?.type ?? "human")),
    editable ? el("button", {
      type: "button",
      class: "icon-btn",
      title: "Delete shape",
      "aria-label": "Delete shape",
      onclick: () => this.store.removeShape(shape.id),
    }, "×") : null);
  }

  highlightSelectedRow() {
    const id = this.store.selectedId;
    for (const row of document.querySelectorAll("#shape-list li[data-id]")) {
      const on = row.dataset.id === id;
      row.classList.toggle("selected", on);
      if (on) row.scrollIntoView?.({ block: "nearest" });
    }
  }

  renderTool(tool) {
    for (const [id, t] of [["#mode-select", Tool.SELECT], ["#mode-box", Tool.BOX], ["#mode-pan", Tool.PAN]]) {
      const btn = $(id);
      if (!btn) continue;
      btn.classList.toggle("active", tool === t);
      btn.setAttribute("aria-pressed", String(tool === t));
    }
  }

  updateButtons() {
    const selected = this.store.selected;
    $("#delete-btn").disabled = !this.canEdit || !selected || selected.type !== "bbox";
    $("#undo-btn").disabled = !this.canEdit || !this.store.canUndo;
    $("#redo-btn").disabled = !this.canEdit || !this.store.canRedo;
    $("#mode-box").disabled = !this.canEdit || !this.currentLabel;
    const submit = $("#submit-btn");
    submit.disabled = !this.canEdit || this.submitting || this.saver?.status === "conflict";
    submit.hidden = !this.canEdit;
    const skip = $("#skip-btn");
    if (skip) {
      skip.disabled = !this.canEdit || this.submitting || this.saver?.status === "conflict";
      skip.hidden = !this.canEdit;
    }
  }

  renderSaveStatus() {
    const status = $("#save-status");
    const { saver } = this;
    status.dataset.status = this.canEdit ? saver.status : "readonly";
    if (!this.canEdit) {
      status.textContent = `Read-only (${this.task.state.replace("_", " ")})`;
      return;
    }
    switch (saver.status) {
      case "saved":
        status.textContent = saver.revision > 0 ? `Saved · rev ${saver.revision}` : "No changes yet";
        this.hideBanner("error");
        break;
      case "dirty":
        status.textContent = "Unsaved changes";
        break;
      case "saving":
        status.textContent = "Saving…";
        break;
      case "conflict": {
        status.textContent = "Not saved: changed elsewhere";
        const rev = conflictRevision(saver.error);
        this.showBanner(
          `This item was changed elsewhere${rev != null ? ` (revision ${rev})` : ""}. Reload to see it; your unsaved change is kept in this tab until you reload.`,
          "conflict",
          el("button", { type: "button", onclick: () => window.location.reload() }, "Reload"),
        );
        break;
      }
      case "error":
        status.textContent = `Save failed: ${saver.error?.message ?? "unknown error"}`;
        this.showApiError("Could not save", saver.error);
        break;
      default:
        status.textContent = saver.status;
    }
    this.updateButtons();
  }

  showApiError(prefix, err) {
    const fields = formatFieldErrors(err?.errors);
    this.showBanner(
      `${prefix}: ${err?.message ?? err}`,
      err?.status === 409 ? "conflict" : "error",
      fields.length ? el("ul", { class: "field-errors" }, fields.map((f) => el("li", {}, f))) : null,
    );
  }

  showBanner(text, kind = "error", extra = null) {
    const banner = $("#banner");
    banner.replaceChildren(el("span", {}, text), ...(extra ? [extra] : []));
    banner.dataset.kind = kind;
    banner.hidden = false;
  }

  /** Hide the banner if it shows `kind` (a conflict banner is never hidden). */
  hideBanner(kind) {
    const banner = $("#banner");
    if (banner.dataset.kind === kind) banner.hidden = true;
  }
}

/** Feed the clock every pointer, key and wheel event, and the tab's visibility; opening the task counts as activity. */
function watchActivity(clock) {
  const options = { capture: true, passive: true };
  for (const type of ["pointerdown", "pointermove", "keydown", "wheel"]) document.addEventListener(type, () => clock.activity(), options);
  document.addEventListener("visibilitychange", () => clock.setVisible(document.visibilityState !== "hidden"));
  clock.activity();
  return clock;
}

/** How often the lease policy is asked; it sends at most one heartbeat a minute. */
const LEASE_TICK_MS = 15_000;

/** Renew the lease on the open task while the person works (lease.js decides when); say so if it was lost. */
function keepLease(page, policy) {
  const options = { capture: true, passive: true };
  for (const type of ["pointerdown", "pointermove", "keydown", "wheel"]) document.addEventListener(type, () => policy.activity(), options);
  document.addEventListener("visibilitychange", () => policy.setVisible(document.visibilityState !== "hidden"));
  policy.activity();
  const timer = setInterval(async () => {
    if (!page.canEdit || page.navigating || !policy.due()) return;
    policy.beaten();
    try {
      await page.api.heartbeat(page.config.taskId);
    } catch (err) {
      // A network error is retried at the next interval; 404/409 mean the task is no longer ours.
      if (err?.status === 404 || err?.status === 409) {
        clearInterval(timer);
        page.showBanner("This task went back to the pool while you were away and may be someone else's now. Open your next task from the home page.", "error");
      }
    }
  }, LEASE_TICK_MS);
  return timer;
}

async function main() {
  const configEl = $("#tool-config");
  if (!configEl) return;
  const config = JSON.parse(configEl.textContent);
  const clock = watchActivity(new ActivityClock({ visible: document.visibilityState !== "hidden" }));
  const api = createApi({ apiBase: config.apiBase ?? "/api/v1", csrfToken: csrfTokenFrom(config), activity: clock });
  const status = $("#save-status");
  status.textContent = "Loading…";
  let task;
  try {
    task = await api.getTask(config.taskId);
  } catch (err) {
    status.textContent = "Not loaded";
    const banner = $("#banner");
    banner.textContent = `Could not load the task: ${err.message}`;
    banner.dataset.kind = "error";
    banner.hidden = false;
    return;
  }
  window.annotateTool = new LabelingPage(config, api, task, clock);
  keepLease(window.annotateTool, new LeasePolicy({ visible: document.visibilityState !== "hidden" }));
  $("#tool").dataset.ready = "true";
}

main();
