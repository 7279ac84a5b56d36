// Dispatch console: the alarm queue, live over Server-Sent Events.
// On every (re)connect of the stream the list is re-read, so nothing is missed or doubled.
"use strict";

const KIND_LABEL = {
  emergency_call: "Emergency call", service_request: "Service request",
  family_call: "Call family", fall: "Fall", inactivity: "Inactivity",
  device_silent: "Device silent", gateway_offline: "Gateway offline", low_battery: "Low battery",
  night_bed_exit: "Out of bed at night", wandering: "Wandering", missed_checkin: "Missed check-in",
  smoke: "Smoke alarm", gas: "Gas alarm", water_leak: "Water leak", vital_signs: "Vital signs",
};

const alarms = new Map();
let stream = null;
let arrivedDuringReload = null;  // events that raced a reload: merged in after it
const STATUS_RANK = { open: 0, acknowledged: 1 };

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    ...options,
  });
  if (response.status === 401) { showLogin(); throw new Error("not authenticated"); }
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

function showLogin() {
  if (stream) { stream.close(); stream = null; }
  setConnection("offline");
  $("login").hidden = false; $("queue").hidden = true; $("logout").hidden = true;
  $("whoami").textContent = "";
}

async function showQueue(user) {
  $("login").hidden = true; $("queue").hidden = false; $("logout").hidden = false;
  $("whoami").textContent = `${user.username} (${user.role})`;
  connect();
}

function setConnection(state) {
  const el = $("connection");
  el.dataset.state = state;
  el.textContent = state;
}

function connect() {
  if (stream) stream.close();
  stream = new EventSource("/api/stream");
  stream.onopen = async () => { setConnection("live"); await reload(); };
  stream.onerror = () => setConnection("offline");  // EventSource retries on its own
  for (const type of ["alarm.raised", "alarm.acknowledged"]) {
    stream.addEventListener(type, (event) => {
      const { alarm } = JSON.parse(event.data);
      upsert(alarm, type === "alarm.raised");
    });
  }
}

// Every open alarm (however old) plus the most recent ones. An event that arrives while the
// lists are in flight may be newer than what they return, so it is merged in afterwards.
async function reload() {
  const during = new Map();
  arrivedDuringReload = during;
  try {
    const [open, recent] = await Promise.all([
      api("/api/alarms?status=open&limit=1000"),
      api("/api/alarms?limit=100"),
    ]);
    alarms.clear();
    for (const alarm of [...recent, ...open]) merge(alarm);
    for (const alarm of during.values()) merge(alarm);
  } finally {
    if (arrivedDuringReload === during) arrivedDuringReload = null;
  }
  render(new Set());
}

// Keep the most advanced state of an alarm: an acknowledgement is never undone by a stale copy.
function merge(alarm) {
  const known = alarms.get(alarm.id);
  if (!known || STATUS_RANK[alarm.status] >= STATUS_RANK[known.status]) alarms.set(alarm.id, alarm);
}

function upsert(alarm, isNew) {
  if (arrivedDuringReload) arrivedDuringReload.set(alarm.id, alarm);
  merge(alarm);
  render(isNew ? new Set([alarm.id]) : new Set());
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

function row(alarm, fresh) {
  const tr = document.createElement("tr");
  tr.dataset.alarmId = alarm.id;
  tr.dataset.status = alarm.status;
  tr.dataset.priority = String(alarm.priority);
  if (fresh) tr.classList.add("new");
  tr.append(
    cell(new Date(alarm.received_at).toLocaleTimeString()),
    cell(String(alarm.priority)),
    cell(KIND_LABEL[alarm.kind] ?? alarm.kind),
    cell(alarm.home_id),
    cell(alarm.device_id),
    cell(alarm.gateway_id),
    cell(alarm.status === "acknowledged" ? `acknowledged by ${alarm.acknowledged_by}` : "open"),
  );
  const action = document.createElement("td");
  if (alarm.status === "open") {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Acknowledge";
    button.addEventListener("click", async () => {
      button.disabled = true;
      try { upsert(await api(`/api/alarms/${alarm.id}/acknowledge`, { method: "POST" }), false); }
      catch (err) { button.disabled = false; console.error(err); }
    });
    action.append(button);
  }
  tr.append(action);
  return tr;
}

function render(fresh) {
  const sorted = [...alarms.values()].sort((a, b) =>
    (a.status === "open" ? 0 : 1) - (b.status === "open" ? 0 : 1)
    || a.priority - b.priority
    || b.received_at.localeCompare(a.received_at));
  $("alarms").replaceChildren(...sorted.map((a) => row(a, fresh.has(a.id))));
  const open = sorted.filter((a) => a.status === "open").length;
  $("open-count").textContent = String(open);
  $("empty").hidden = sorted.length > 0;
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  $("login-error").textContent = "";
  try {
    const user = await api("/api/auth/login", {
      method: "POST",
      body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
    });
    event.target.reset();
    await showQueue(user);
  } catch (err) {
    $("login-error").textContent = "Wrong username or password.";
  }
});

$("logout").addEventListener("click", async () => {
  await api("/api/auth/logout", { method: "POST" }).catch(() => {});
  showLogin();
});

api("/api/auth/me").then(showQueue).catch(() => showLogin());
