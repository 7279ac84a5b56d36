// The live stream (Server-Sent Events). On every (re)connect the alarm lists are read again,
// so nothing that happened while the stream was down is missed; events that arrive while the
// lists are in flight are merged after them, and the store keeps the higher version of each
// alarm, so nothing is doubled or undone either.

import { api } from "./api.js";

const EVENT_TYPES = [
  "alarm.raised", "alarm.acknowledged", "alarm.dispatched", "alarm.renotified", "alarm.accepted",
  "alarm.declined", "alarm.en_route", "alarm.on_scene", "alarm.resolved", "alarm.note",
  "alarm.escalated", "alarm.escalation_cancelled",
];
const RETRY_MS = 3000;

export class LiveQueue {
  // ``onChange(changedIds, newIds, type)`` after every change; ``onState("live"|...)``;
  // ``onStoreFault(fault | null)`` while the centre's database is (not) storing alarms;
  // ``onFamilyAway(change)`` when a family member changed a resident's away periods.
  constructor(store, { onChange, onState, onStoreFault, onFamilyAway }) {
    this.store = store;
    this.onChange = onChange;
    this.onState = onState;
    this.onStoreFault = onStoreFault;
    this.onFamilyAway = onFamilyAway;
    this.source = null;
    this.during = null;  // events that raced a reload
    this.loaded = false;  // the first load after login brings no "new alarm" cue
    this.retry = null;
    this.generation = 0;
  }

  start() {
    this.stop();
    const generation = ++this.generation;
    const source = new EventSource("/api/stream");
    this.source = source;
    this.onState("connecting");
    source.onopen = () => {
      if (generation !== this.generation) return;
      this.onState("live");
      // A fault still going on is sent again first thing on every stream.
      this.onStoreFault(null);
      this.reload().catch((err) => console.error("reload failed", err));
    };
    source.onerror = () => {
      if (generation !== this.generation) return;
      this.onState("offline");
      // The browser retries by itself unless the answer was not a stream (an HTTP error):
      // then the source is closed for good and we start a new one.
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.start(), RETRY_MS);
      }
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event) => this.receive(type, JSON.parse(event.data).alarm));
    }
    source.addEventListener("store.fault", (event) => this.onStoreFault(JSON.parse(event.data)));
    source.addEventListener("store.ok", () => this.onStoreFault(null));
    source.addEventListener("away.family_changed", (event) => this.onFamilyAway(JSON.parse(event.data)));
  }

  stop() {
    this.generation += 1;
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    this.source = null;
  }

  // Logged out: the next login's first load is a first load again.
  reset() {
    this.stop();
    this.loaded = false;
    this.store.replaceAll([]);
  }

  receive(type, alarm) {
    if (this.during) this.during.push(alarm);
    const isNew = !this.store.has(alarm.id);
    if (!this.store.merge(alarm) && !isNew) {
      this.onChange(new Set([alarm.id]), new Set(), type);  // a note: same version, new history
      return;
    }
    this.onChange(new Set([alarm.id]), isNew && this.loaded ? new Set([alarm.id]) : new Set(), type);
  }

  // Every unresolved alarm (however old) plus the most recent ones.
  async reload() {
    const during = [];
    this.during = during;
    try {
      const [open, taken, recent] = await Promise.all([
        api("/api/alarms?status=open&limit=1000"),
        api("/api/alarms?status=acknowledged&limit=1000"),
        api("/api/alarms?limit=100"),
      ]);
      const before = new Set(this.store.alarms.keys());
      this.store.replaceAll([...recent, ...taken, ...open]);
      for (const alarm of during) this.store.merge(alarm);
      const fresh = new Set();
      if (this.loaded) {
        for (const [id, alarm] of this.store.alarms) {
          if (!before.has(id) && alarm.status === "open") fresh.add(id);
        }
      }
      this.loaded = true;
      this.onChange(new Set(this.store.alarms.keys()), fresh, "reload");
    } finally {
      if (this.during === during) this.during = null;
    }
  }
}
