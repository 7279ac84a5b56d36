// The responder page: alarms dispatched to me; accept, en route, on scene, resolve.
// Uses only the public API (server/api/routes/dispatch.py) with a bearer token kept for this
// tab only (sessionStorage), so closing the tab logs out on a shared phone.
"use strict";

const api = {
  token: sessionStorage.getItem("responder-token"),
  async call(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (api.token) headers.Authorization = "Bearer " + api.token;
    const res = await fetch("/api" + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) { logout(); throw new Error("please log in"); }
    if (!res.ok) {
      const detail = await res.json().catch(() => ({}));
      throw new Error(typeof detail.detail === "string" ? detail.detail : res.statusText);
    }
    return res.status === 204 ? null : res.json();
  },
};

const $ = (id) => document.getElementById(id);
let me = null;

function focusedAlarm() {
  const m = /alarm=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

function responderId() {
  if (me && me.responder_id) return me.responder_id;
  const typed = parseInt($("responder-id").value, 10);  // operators acting for someone
  return Number.isFinite(typed) ? typed : null;
}

function showError(err) { $("error").textContent = err ? String(err.message || err) : ""; }

function logout() {
  if (api.token) api.call("POST", "/auth/logout").catch(() => {});
  api.token = null; me = null;
  sessionStorage.removeItem("responder-token");
  $("main").hidden = true; $("login").hidden = false;
}

// What the responder can do next, by the alarm's lifecycle state.
const NEXT = {
  dispatched: [["Accept", (a) => api.call("POST", `/alarms/${a.id}/answer/accept`, { responder_id: responderId() })],
               ["Decline", (a) => api.call("POST", `/alarms/${a.id}/answer/decline`, { responder_id: responderId() })]],
  accepted: [["En route", (a) => api.call("POST", `/alarms/${a.id}/progress/en_route`)]],
  en_route: [["On scene", (a) => api.call("POST", `/alarms/${a.id}/progress/on_scene`)]],
};
const OUTCOMES = ["real_emergency", "false_alarm", "test", "cancelled"];

function button(label, action, alarm) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = label;
  b.addEventListener("click", async () => {
    showError(null);
    try { await action(alarm); await refresh(); } catch (err) { showError(err); }
  });
  return b;
}

function resolveForm(alarm) {
  const form = document.createElement("form");
  const outcome = document.createElement("select");
  for (const o of OUTCOMES) outcome.add(new Option(o.replace("_", " "), o));
  const note = document.createElement("textarea");
  note.placeholder = "Note (optional)";
  form.append(outcome, note, button("Resolve", async (a) => {
    const body = { outcome: outcome.value };
    if (note.value.trim()) body.note = note.value.trim();
    await api.call("POST", `/alarms/${a.id}/resolve`, body);
  }, alarm));
  form.addEventListener("submit", (e) => e.preventDefault());
  return form;
}

function render(alarms) {
  const list = $("alarms");
  list.replaceChildren();
  if (!alarms.length) { list.textContent = "No alarms for you now."; return; }
  for (const a of alarms) {
    const card = document.createElement("div");
    card.className = "alarm" + (a.id === focusedAlarm() ? " focus" : "");
    card.dataset.alarm = a.id;
    const title = document.createElement("div");
    title.className = "kind";
    title.textContent = `${a.kind.replace(/_/g, " ")} · ${a.state.replace("_", " ")}`;
    const where = document.createElement("div");
    where.textContent = `Home ${a.home_id} · received ${new Date(a.received_at).toLocaleTimeString()}`;
    card.append(title, where);
    for (const [label, action] of NEXT[a.state] || []) card.append(button(label, action, a));
    if (a.state === "on_scene") card.append(resolveForm(a));
    list.append(card);
  }
}

async function refresh() {
  const alarms = await api.call("GET", "/alarms?limit=100");
  const mine = responderId();
  // A responder account is only ever shown its own alarms by the server; an operator
  // testing the page sees those of the responder id typed in.
  render(alarms.filter((a) => a.state !== "resolved" && (mine === null || a.responder_id === mine)));
}

async function start() {
  me = await api.call("GET", "/auth/me");
  $("who").textContent = me.username;
  $("act-as").hidden = Boolean(me.responder_id);
  $("login").hidden = true; $("main").hidden = false;
  await refresh();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  showError(null);
  const form = new FormData(e.target);
  try {
    const got = await api.call("POST", "/auth/login", {
      username: form.get("username"), password: form.get("password"),
    });
    api.token = got.access_token;
    sessionStorage.setItem("responder-token", api.token);
    await start();
  } catch (err) { showError(err); }
});
$("logout").addEventListener("click", logout);
$("refresh").addEventListener("click", () => refresh().catch(showError));
$("responder-id").addEventListener("change", () => refresh().catch(showError));
window.addEventListener("hashchange", () => refresh().catch(showError));
setInterval(() => { if (me) refresh().catch(showError); }, 15000);

if (api.token) start().catch(() => { $("login").hidden = false; });
else $("login").hidden = false;
