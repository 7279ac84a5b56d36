// The alarms the console knows, kept newest by version: a copy from a list read that raced a
// live event never undoes the newer state the event brought (and vice versa).

const RESOLVED_SHOWN = 30;

export class AlarmStore {
  constructor() {
    this.alarms = new Map();
  }

  // Keep ``alarm`` if it is newer than what is known; returns whether it changed anything.
  merge(alarm) {
    const known = this.alarms.get(alarm.id);
    if (known && known.version >= alarm.version) return false;
    this.alarms.set(alarm.id, alarm);
    return true;
  }

  replaceAll(alarms) {
    this.alarms.clear();
    for (const alarm of alarms) this.merge(alarm);
  }

  get(id) { return this.alarms.get(id); }
  has(id) { return this.alarms.has(id); }

  // The queue: unresolved first, most urgent first (priority 0 is the most urgent), then the
  // longest waiting; then the most recently resolved, a few only.
  ordered() {
    const all = [...this.alarms.values()];
    const waiting = all.filter((a) => a.state !== "resolved").sort((a, b) =>
      a.priority - b.priority || a.received_at.localeCompare(b.received_at) || a.id.localeCompare(b.id));
    const resolved = all.filter((a) => a.state === "resolved")
      .sort((a, b) => (b.resolved_at ?? "").localeCompare(a.resolved_at ?? ""))
      .slice(0, RESOLVED_SHOWN);
    return [...waiting, ...resolved];
  }

  openCount() {
    let n = 0;
    for (const alarm of this.alarms.values()) if (alarm.status === "open") n += 1;
    return n;
  }
}
