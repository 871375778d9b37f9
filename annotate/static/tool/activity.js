/**
 * Active time on a task, for measuring how long labeling takes. Pure: no DOM,
 * no timers; tool.js feeds it events and api.js takes the seconds with each save.
 *
 *   clock = new ActivityClock({now, idleMs, visible})
 *   clock.activity()        a pointer, key or wheel event happened now
 *   clock.setVisible(bool)  the tab was shown or hidden
 *   clock.take()            active seconds since the last take, to 0.1 s
 *   clock.pending()         the same, without taking (unrounded)
 *   clock.restore(seconds)  put taken seconds back (a save that failed)
 *
 * The person counts as active at time t when the tab is visible and an
 * activity event happened within the last `idleMs` (30 s) before t. So a
 * pause between events counts up to 30 s and nothing beyond; hiding the tab
 * stops the count at once, and it starts again only with the next event
 * after the tab is shown. `take()` rounds to 0.1 s and keeps the rounding
 * remainder for the next take, so the sum of takes stays within 0.05 s of
 * the true total.
 */

export const IDLE_MS = 30_000;

const defaultNow = () => (globalThis.performance?.now ? globalThis.performance.now() : Date.now());

export class ActivityClock {
  /**
   * @param {object} [o]
   * @param {() => number} [o.now]  the time in milliseconds (monotonic; injectable for tests)
   * @param {number} [o.idleMs]     how long after an event the person still counts as active
   * @param {boolean} [o.visible]   whether the tab is visible at the start
   */
  constructor({ now = defaultNow, idleMs = IDLE_MS, visible = true } = {}) {
    this._now = now;
    this._idleMs = idleMs;
    this._visible = Boolean(visible);
    this._lastEvent = null; // time of the last event in the current visible stretch
    this._countedTo = now(); // credit is accumulated up to this time
    this._pendingMs = 0;
  }

  /** Record a pointer, key or wheel event at the current time. */
  activity() {
    const t = this._advance();
    if (this._visible) this._lastEvent = t;
  }

  /** Record that the tab became visible (true) or hidden (false). */
  setVisible(visible) {
    this._advance();
    this._visible = Boolean(visible);
    if (!this._visible) this._lastEvent = null;
  }

  /** Active seconds since the last take, unrounded, without taking them. */
  pending() {
    this._advance();
    return Math.max(0, this._pendingMs) / 1000;
  }

  /** Return the active seconds since the last take, rounded to 0.1 s, and start counting anew. */
  take() {
    this._advance();
    // The remainder (within ±0.05 s, so possibly negative) is carried to the next take.
    const seconds = Math.max(0, Math.round(this._pendingMs / 100) / 10);
    this._pendingMs -= seconds * 1000;
    return seconds;
  }

  /** Put back seconds that were taken but could not be delivered (a failed save). */
  restore(seconds) {
    if (Number.isFinite(seconds) && seconds > 0) this._pendingMs += seconds * 1000;
  }

  _advance() {
    const t = this._now();
    if (this._visible && this._lastEvent !== null) {
      const end = Math.min(t, this._lastEvent + this._idleMs);
      if (end > this._countedTo) this._pendingMs += end - this._countedTo;
    }
    if (t > this._countedTo) this._countedTo = t;
    return t;
  }
}
