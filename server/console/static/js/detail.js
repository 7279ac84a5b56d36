// One alarm, everything one glance away: the resident, the home on a map, the evidence, the
// equipment's health, the history; and the dispatch desk: suggested responders with their
// estimated arrival, the one sent and how far they are, notes, resolve with an outcome.

import { api } from "./api.js";
import { awayBlock, awayFlag } from "./away.js";
import { TREND_AFTER_S, TREND_BEFORE_S, evidenceCard, healthCard, historyCard, homeCard, residentCard } from "./cards.js";
import { $, el, elapsed } from "./dom.js";
import { label, t, time } from "./i18n.js";
import { drawMap } from "./map.js";
import { TIMELINE_S } from "./timeline.js";

const OUTCOMES = ["real_emergency", "false_alarm", "test", "cancelled"];
const CALL_OUTCOMES = ["reached", "no_answer", "busy", "left_message"];
const ESCALATING = new Set(["pending", "active"]);
// Alarms about what the home's sensors did (or did not) see: shown with the last 24 h of activity.
const ACTIVITY_KINDS = new Set(["inactivity", "night_bed_exit", "wandering", "missed_checkin"]);
const TREND_EVERY_MS = 10_000;  // telemetry arrives about once a minute, written in batches

export class DetailView {
  // ``desk``: { acknowledge(alarm), dispatch(alarm, responderId|null), report(error), loadRecords(),
  //   may(permission) }: what the signed-in account may do (GET /api/auth/me)
  constructor(desk, records) {
    this.desk = desk;
    this.records = records;  // shared: responders and homes, kept fresh by the app
    this.data = null;
  }

  // Known from the moment the detail opens, before the alarm itself has been read: a live
  // update arriving in between must not trip over the missing alarm.
  get alarmId() { return this.data?.id ?? null; }

  async open(alarmId) {
    this.draft = "";
    this.awayDraft = { until: "", note: "" };
    clearInterval(this.trendTimer);
    this.data = { id: alarmId, alarm: null, resident: null, home: null, suggestions: [], history: [],
      gateway: null, events: [], trend: null, activity: null, missingResident: false, missingHome: false,
      away: null, deliveries: null };
    $("detail").hidden = false;
    await this.refresh(alarmId, { full: true });
  }

  close() {
    clearInterval(this.trendTimer);
    this.data = null;
    $("detail").hidden = true;
    $("detail-body").replaceChildren();
  }

  // Re-read what may have changed; the resident's record (an audited read) once per opening.
  async refresh(alarmId = this.alarmId, { full = false } = {}) {
    if (!alarmId || !this.data) return;
    const data = this.data;
    const alarm = await api(`/api/alarms/${alarmId}`);
    if (this.data !== data) return;
    data.alarm = alarm;
    const reads = [
      api(`/api/alarms/${alarmId}/history`).then((h) => { data.history = h; }),
      alarm.state === "resolved" ? Promise.resolve(data.suggestions = [])
        : api(`/api/alarms/${alarmId}/suggestions`).then((s) => { data.suggestions = s; }),
      api("/api/gateways").then((g) => { data.gateway = g.find((x) => x.id === alarm.gateway_id) ?? null; }),
      api("/api/device-events?limit=200&exclude_kind=activity").then((e) => { data.events = e; }),
    ];
    // Supervisors see whether each notice reached its channel; operators may not (403).
    if (this.desk.may("read_notifications")) {
      reads.push(api(`/api/alarms/${alarmId}/deliveries`).then((d) => { data.deliveries = d; }));
    }
    if (full && ACTIVITY_KINDS.has(alarm.kind)) {
      const end = Date.parse(alarm.received_at);
      const query = new URLSearchParams({ gateway_id: alarm.gateway_id, kind: "activity", limit: "5000",
        since: new Date(end - TIMELINE_S * 1000).toISOString(), until: alarm.received_at });
      reads.push(api(`/api/device-events?${query}`).then((e) => { data.activity = e; }, () => { data.activity = []; }));
    }
    if (full && alarm.kind === "vital_signs") {
      reads.push(this.vitals(alarm).then((v) => { data.trend = v; }));
      clearInterval(this.trendTimer);
      this.trendTimer = setInterval(() => this.refreshTrend(data), TREND_EVERY_MS);
    }
    if (full) {
      reads.push(this.desk.loadRecords());  // responders for the map and the desk, fresh
      reads.push(alarm.resident_id
        ? api(`/api/residents/${alarm.resident_id}`).then((r) => { data.resident = r; })
        : Promise.resolve(data.missingResident = true));
      if (alarm.resident_id) {
        reads.push(api(`/api/residents/${alarm.resident_id}/away`).then((a) => { data.away = a; }));
      }
      reads.push(api(`/api/homes/${encodeURIComponent(alarm.home_id)}`)
        .then((h) => { data.home = h; }, () => { data.missingHome = true; }));
    }
    await Promise.allSettled(reads);
    if (this.data === data) this.render();
  }

  // Only the evidence card is redrawn, so nothing the operator is doing elsewhere is lost.
  async refreshTrend(data) {
    if (this.data !== data) return;
    const trend = await this.vitals(data.alarm);
    if (this.data !== data) return;
    data.trend = trend;
    const card = document.querySelector("#detail [data-card='evidence']");
    if (card) card.replaceWith(evidenceCard(data.alarm, trend, data.activity));
  }

  // Heart and breathing rates from two hours before the alarm to ten minutes after it.
  async vitals(alarm) {
    const at = Date.parse(alarm.received_at);
    const query = new URLSearchParams({
      gateway_id: alarm.gateway_id, measurement: "vitals",
      start: new Date(at - TREND_BEFORE_S * 1000).toISOString(), end: new Date(at + TREND_AFTER_S * 1000).toISOString(),
    });
    if (alarm.device_id) query.set("device_id", alarm.device_id);
    const lines = [];
    for (const [field, key] of [["resp_bpm", "evidence.resp_bpm"], ["heart_bpm", "evidence.heart_bpm"]]) {
      query.set("field", field);
      const series = await api(`/api/telemetry/series?${query}`).catch(() => ({ points: [] }));
      lines.push({ label: t(key), points: series.points });
    }
    return lines;
  }

  render() {
    if (!this.data?.alarm) return;
    const { alarm } = this.data;
    $("detail-title").textContent = `${label("kind", alarm.kind)} · ${alarm.home_id}`;
    $("detail").dataset.alarmId = alarm.id;
    $("detail").dataset.state = alarm.state;
    const mapNode = el("div", { class: "mini-map" });
    if (this.data.home) {
      drawMap(mapNode, { homes: [this.data.home], responders: this.records.responders,
        alarmed: new Set([alarm.home_id]), focus: alarm.home_id, width: 420, height: 240 });
    }
    $("detail-body").replaceChildren(
      this.summary(alarm),
      evidenceCard(alarm, this.data.trend, this.data.activity),
      this.dispatchDesk(alarm),
      residentCard(this.data.resident, this.data.missingResident, this.awayBlock(alarm)),
      homeCard(this.data.home, this.data.missingHome, mapNode),
      healthCard(alarm, this.data.gateway, this.data.events),
      historyCard(this.data.history, (id) => this.responderName(id), this.data.deliveries),
    );
  }

  // The resident phones: away now until a time, or back home; the card shows the answer.
  awayBlock(alarm) {
    const path = `/api/residents/${alarm.resident_id}/away`;
    const change = async (suffix, body) => {
      const data = this.data;
      try {
        const away = await api(`${path}/${suffix}`, { method: "POST", body });
        if (this.data !== data) return;
        data.away = away;
        if (suffix === "now") this.awayDraft = { until: "", note: "" };
        this.render();
      } catch (err) {
        this.desk.report(err);
      }
    };
    return awayBlock(this.data.away, {
      canSet: this.desk.may("set_away"),
      draft: this.awayDraft,
      onAway: (until, note) => change("now", { until, note }),
      onBack: () => change("back", undefined),
    });
  }

  responderName(id) {
    return this.records.responders.find((r) => r.id === id)?.name ?? `#${id}`;
  }

  summary(alarm) {
    const buttons = [];
    if (alarm.status === "open") {
      buttons.push(el("button", { type: "button", id: "detail-ack", on: { click: () => this.desk.acknowledge(alarm) } }, t("action.acknowledge")));
    }
    if (ESCALATING.has(alarm.escalation_state)) {
      buttons.push(el("button", { type: "button", on: { click: () => this.act(`/api/alarms/${alarm.id}/escalation/cancel`, {}) } }, t("action.cancel_escalation")));
    }
    return el("section", { class: "card summary" },
      el("p", { class: "big-state", id: "detail-state", dataset: { state: alarm.state } }, label("state", alarm.state)),
      awayFlag(this.data.away),
      el("dl", { class: "facts" },
        el("dt", {}, t("detail.priority")), el("dd", {}, String(alarm.priority)),
        el("dt", {}, t("detail.waiting")), el("dd", { class: "timer", dataset: { since: alarm.received_at, until: alarm.resolved_at ?? "" } }, elapsed(alarm.received_at)),
        el("dt", {}, t("detail.received")), el("dd", {}, time(alarm.received_at)),
        alarm.acknowledged_by ? [el("dt", {}, t("detail.acknowledged")), el("dd", {}, `${alarm.acknowledged_by} · ${time(alarm.acknowledged_at)}`)] : null,
        alarm.escalation_state ? [el("dt", {}, t("detail.escalation")), el("dd", {}, label("escalation", alarm.escalation_state))] : null,
        alarm.outcome ? [el("dt", {}, t("detail.outcome")), el("dd", {}, label("outcome", alarm.outcome))] : null),
      el("div", { class: "buttons" }, buttons));
  }

  dispatchDesk(alarm) {
    const parts = [];
    if (alarm.responder_id) {
      const responder = this.records.responders.find((r) => r.id === alarm.responder_id);
      parts.push(el("p", { id: "assigned", class: "assigned", dataset: { state: alarm.state } },
        t("dispatch.assigned", { name: this.responderName(alarm.responder_id) }), " · ",
        el("strong", {}, label("state", alarm.state)),
        responder ? ` · ${label("responder_status", responder.status)}` : ""));
    }
    if (alarm.state !== "resolved") {
      parts.push(this.suggestionTable(alarm), this.callForm(alarm), this.noteForm(alarm), this.resolveForm(alarm));
    }
    return el("section", { class: "card", dataset: { card: "dispatch" } }, el("h3", {}, t("detail.dispatch")), ...parts);
  }

  suggestionTable(alarm) {
    const rows = this.data.suggestions.map((s, i) => el("tr", { dataset: { responderId: String(s.responder_id) } },
      el("td", {}, String(i + 1)),
      el("td", {}, s.name),
      el("td", {}, label("responder_kind", s.kind)),
      el("td", {}, s.distance_m === null ? "–" : t("unit.km", { n: (s.distance_m / 1000).toFixed(1) })),
      el("td", { class: "eta" }, s.eta_s === null ? "–" : t("unit.min", { n: Math.ceil(s.eta_s / 60) })),
      el("td", {}, s.within_radius ? t("dispatch.within") : t("dispatch.outside")),
      el("td", {}, el("button", { type: "button", class: "send", on: { click: () => this.desk.dispatch(alarm, s.responder_id) } }, t("action.dispatch")))));
    if (!rows.length) return el("p", { class: "muted" }, t("dispatch.no_suggestions"));
    return el("table", { class: "suggestions" },
      el("thead", {}, el("tr", {}, ["#", "dispatch.name", "dispatch.kind", "dispatch.distance", "dispatch.eta", "dispatch.radius", ""]
        .map((k) => el("th", {}, k && k !== "#" ? t(k) : k)))),
      el("tbody", {}, rows));
  }

  // The call log: whom the operator phoned and how it went, one click each, kept in the
  // alarm's history like a note (the history is the one record of everything done).
  callForm(alarm) {
    const people = [];
    const resident = this.data?.resident;
    if (resident) people.push(t("calls.resident", { name: resident.name }));
    for (const c of resident?.contacts ?? []) people.push(c.relation ? `${c.name} (${c.relation})` : c.name);
    if (alarm.responder_id) people.push(this.responderName(alarm.responder_id));
    people.push(t("calls.emergency_services"));
    const who = el("select", { id: "call-who", "aria-label": t("calls.who") },
      people.map((p) => el("option", { value: p }, p)));
    const outcome = el("select", { id: "call-outcome", "aria-label": t("calls.outcome") },
      CALL_OUTCOMES.map((o) => el("option", { value: o }, t(`calls.${o}`))));
    const form = el("form", { class: "call-form" }, el("span", {}, t("calls.label")), who, outcome,
      el("button", { type: "submit", id: "log-call" }, t("action.log_call")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = t("calls.note", { who: who.value, outcome: t(`calls.${outcome.value}`) });
      await this.act(`/api/alarms/${alarm.id}/notes`, { note: text });
    });
    return form;
  }

  noteForm(alarm) {
    // A live event re-renders the desk: what the operator was typing stays.
    const note = el("textarea", { id: "note-text", rows: 2, "aria-label": t("notes.label"), placeholder: t("notes.placeholder") });
    note.value = this.draft ?? "";
    note.addEventListener("input", () => { this.draft = note.value; });
    const form = el("form", { class: "note-form" }, note,
      el("button", { type: "submit" }, t("action.add_note")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!note.value.trim()) return;
      this.draft = "";
      await this.act(`/api/alarms/${alarm.id}/notes`, { note: note.value.trim() });
    });
    return form;
  }

  resolveForm(alarm) {
    const outcome = el("select", { id: "outcome", "aria-label": t("resolve.outcome") },
      OUTCOMES.map((o) => el("option", { value: o }, label("outcome", o))));
    const note = el("input", { id: "resolve-note", "aria-label": t("resolve.note"), placeholder: t("resolve.note") });
    const form = el("form", { class: "resolve-form" }, el("span", {}, t("resolve.outcome")), outcome, note,
      el("button", { type: "submit", id: "resolve" }, t("action.resolve")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { outcome: outcome.value };
      if (note.value.trim()) body.note = note.value.trim();
      await this.act(`/api/alarms/${alarm.id}/resolve`, body);
    });
    return form;
  }

  async act(path, body) {
    try {
      await api(path, { method: "POST", body });
      await this.refresh();
    } catch (err) {
      this.desk.report(err);
    }
  }

  tick() {
    const cell = document.querySelector("#detail .timer");
    if (cell) cell.textContent = elapsed(cell.dataset.since, cell.dataset.until ? Date.parse(cell.dataset.until) : Date.now());
  }
}
