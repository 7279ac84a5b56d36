// The live queue: one row per alarm, most urgent and longest waiting first, a running timer,
// the row the keyboard is on, and the quick actions (acknowledge, dispatch the top suggestion).

import { $, el, elapsed } from "./dom.js";
import { label, t, time } from "./i18n.js";

const TAKEN_STATES = new Set(["dispatched", "accepted", "en_route", "on_scene", "resolved"]);

export class QueueView {
  // ``actions``: { acknowledge(alarm), dispatchTop(alarm), open(alarm) }
  constructor(store, actions) {
    this.store = store;
    this.actions = actions;
    this.selected = null;
    this.flashing = new Set();
    setInterval(() => this.tick(), 1000);
  }

  render(fresh = new Set()) {
    for (const id of fresh) this.flashing.add(id);
    const alarms = this.store.ordered();
    if (this.selected && !this.store.has(this.selected)) this.selected = null;
    if (!this.selected && alarms.length) this.selected = alarms[0].id;
    $("alarms").replaceChildren(...alarms.map((a) => this.row(a)));
    $("open-count").textContent = String(this.store.openCount());
    $("open-label").textContent = t("queue.open", { n: this.store.openCount() });
    $("empty").hidden = alarms.length > 0;
    this.tick();
  }

  row(alarm) {
    const tr = el("tr", {
      dataset: { alarmId: alarm.id, status: alarm.status, state: alarm.state, priority: String(alarm.priority) },
      class: [
        this.flashing.has(alarm.id) ? "new" : "",
        alarm.id === this.selected ? "selected" : "",
      ].join(" ").trim(),
      "aria-selected": alarm.id === this.selected ? "true" : "false",
    });
    tr.addEventListener("click", (event) => {
      if (event.target instanceof HTMLButtonElement) return;
      this.select(alarm.id);
      this.actions.open(alarm);
    });
    tr.addEventListener("animationend", () => this.flashing.delete(alarm.id), { once: true });
    const waiting = el("td", { class: "timer", dataset: { since: alarm.received_at, until: alarm.resolved_at ?? "" } });
    tr.append(
      waiting,
      el("td", { class: "prio" }, String(alarm.priority)),
      el("td", { class: "kind" }, label("kind", alarm.kind)),
      el("td", {}, alarm.home_id),
      el("td", {}, alarm.device_id ?? ""),
      el("td", {}, time(alarm.received_at)),
      el("td", { class: "state" }, this.stateText(alarm)),
      el("td", { class: "actions" }, this.buttons(alarm)),
    );
    return tr;
  }

  stateText(alarm) {
    const state = label("state", alarm.state);
    if (alarm.state === "acknowledged") return t("queue.taken_by", { who: alarm.acknowledged_by });
    if (alarm.acknowledged_by && alarm.state !== "resolved") {
      return `${state} · ${t("queue.acknowledged_by", { who: alarm.acknowledged_by })}`;
    }
    if (alarm.state === "resolved" && alarm.outcome) return `${state} · ${label("outcome", alarm.outcome)}`;
    return state;
  }

  buttons(alarm) {
    const out = [];
    if (alarm.status === "open") {
      out.push(el("button", { type: "button", class: "ack", on: { click: () => this.actions.acknowledge(alarm) } }, t("action.acknowledge")));
    }
    if (!TAKEN_STATES.has(alarm.state)) {
      out.push(el("button", { type: "button", class: "dispatch", on: { click: () => this.actions.dispatchTop(alarm) } }, t("action.dispatch_top")));
    }
    return out;
  }

  // Running timers: time waiting, or (once resolved) how long it took.
  tick() {
    const now = Date.now();
    for (const cell of document.querySelectorAll("#alarms td.timer")) {
      const until = cell.dataset.until ? Date.parse(cell.dataset.until) : now;
      cell.textContent = elapsed(cell.dataset.since, until);
    }
  }

  select(id) {
    this.selected = id;
    for (const tr of document.querySelectorAll("#alarms tr")) {
      const on = tr.dataset.alarmId === id;
      tr.classList.toggle("selected", on);
      tr.setAttribute("aria-selected", on ? "true" : "false");
      if (on) tr.scrollIntoView({ block: "nearest" });
    }
  }

  move(step) {
    const ids = this.store.ordered().map((a) => a.id);
    if (!ids.length) return;
    const at = ids.indexOf(this.selected);
    const next = at < 0 ? 0 : Math.min(ids.length - 1, Math.max(0, at + step));
    this.select(ids[next]);
  }

  current() { return this.selected ? this.store.get(this.selected) : undefined; }
}
