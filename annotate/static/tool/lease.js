/**
 * When the labeling tool renews its lease on the open task. Pure: no DOM, no
 * timers; tool.js feeds it activity and visibility, asks `due()` on a timer,
 * and sends the heartbeat (api.js) when it says so.
 *
 *   policy = new LeasePolicy({now, intervalMs, activeWindowMs, visible})
 *   policy.activity()         the person did something (pointer, key, wheel) now
 *   policy.setVisible(bool)   the tab was shown or hidden
 *   policy.due()              whether a heartbeat should go now
 *   policy.beaten()           a heartbeat was sent now
 *
 * A heartbeat is due when the tab is visible, the person did something in the
 * last `activeWindowMs` (5 minutes), and at least `intervalMs` (60 s) passed
 * since the previous one. So a tab left open and idle stops renewing, and the
 * server gives the task to someone else once the lease (30 minutes) runs out,
 * unless work was saved on it.
 */

export const HEARTBEAT_MS = 60_000;
export const ACTIVE_WINDOW_MS = 5 * 60_000;

const defaultNow = () => (globalThis.performance?.now ? globalThis.performance.now() : Date.now());

export class LeasePolicy {
  /**
   * @param {object} [o]
   * @param {() => number} [o.now]          the time in milliseconds (monotonic; injectable for tests)
   * @param {number} [o.intervalMs]         the least time between two heartbeats
   * @param {number} [o.activeWindowMs]     how recent the last activity must be
   * @param {boolean} [o.visible]           whether the tab is visible at the start
   */
  constructor({ now = defaultNow, intervalMs = HEARTBEAT_MS, activeWindowMs = ACTIVE_WINDOW_MS, visible = true } = {}) {
    this._now = now;
    this._intervalMs = intervalMs;
    this._activeWindowMs = activeWindowMs;
    this._visible = Boolean(visible);
    this._lastActivity = null;
    // Serving the task just set a fresh lease, so the first heartbeat waits a full interval.
    this._lastBeat = now();
  }

  /** Record a pointer, key or wheel event at the current time. */
  activity() {
    this._lastActivity = this._now();
  }

  /** Record that the tab became visible (true) or hidden (false). */
  setVisible(visible) {
    this._visible = Boolean(visible);
  }

  /** Whether a heartbeat should be sent now. */
  due() {
    const t = this._now();
    if (!this._visible || this._lastActivity === null) return false;
    if (t - this._lastActivity > this._activeWindowMs) return false;
    return t - this._lastBeat >= this._intervalMs;
  }

  /** Record that a heartbeat was sent now. */
  beaten() {
    this._lastBeat = this._now();
  }
}
