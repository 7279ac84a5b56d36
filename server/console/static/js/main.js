// The dispatch console: login, the live queue with its keyboard, the alarm detail and
// dispatch desk, the offline map and the boards, in English or Chinese.

import { allPages, api, whenUnauthorised } from "./api.js";
import { devicesBoard, ordersBoard, reportsBoard, respondersBoard } from "./boards.js";
import { newAlarmCue, unlockAudio } from "./cues.js";
import { DetailView } from "./detail.js";
import { $, el, isTyping } from "./dom.js";
import { dateTime, label, loadLanguage, onLanguageChange, preferredLanguage, t } from "./i18n.js";
import { LiveQueue } from "./live.js";
import { drawMap } from "./map.js";
import { QueueView } from "./queue.js";
import { AlarmStore } from "./store.js";

const store = new AlarmStore();
const records = { responders: [], homes: [], organisations: [] };
let user = null;
let tab = "queue";
let connection = "offline";

function report(err) {
  console.error(err);
  const box = $("message");
  box.textContent = t("error.action_failed", { detail: err?.detail ?? err?.message ?? String(err) });
  box.hidden = false;
  clearTimeout(report.timer);
  report.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

async function acknowledge(alarm) {
  try { store.merge(await api(`/api/alarms/${alarm.id}/acknowledge`, { method: "POST" })); refresh(new Set([alarm.id])); }
  catch (err) { report(err); }
}

// ``responderId`` null: the server sends its best suggestion.
async function dispatch(alarm, responderId = null) {
  try {
    store.merge(await api(`/api/alarms/${alarm.id}/dispatch`, { method: "POST", body: { responder_id: responderId } }));
    refresh(new Set([alarm.id]));
  } catch (err) { report(err); }
}

// What the account may do, as the server says (GET /api/auth/me): a section or an action the
// server would refuse is not shown.
const may = (permission) => Boolean(user?.permissions?.includes(permission));
const detail = new DetailView({ acknowledge, dispatch, report, loadRecords: () => loadRecords(), may }, records);
const queue = new QueueView(store, {
  acknowledge,
  dispatchTop: (alarm) => dispatch(alarm, null),
  open: (alarm) => detail.open(alarm.id).catch(report),
});
const live = new LiveQueue(store, {
  onChange: (changed, fresh, type) => {
    queue.render(fresh);
    // How many times the lists were read again: tests and support see each resync.
    if (type === "reload") $("alarms").dataset.syncs = String(Number($("alarms").dataset.syncs ?? 0) + 1);
    if (fresh.size) newAlarmCue();
    if (detail.alarmId && changed.has(detail.alarmId)) detail.refresh().catch(report);
    if (type !== "alarm.raised" && type !== "alarm.note") loadRecords().then(renderTab).catch(report);
  },
  onState: setConnection,
  onStoreFault: showStoreFault,
  onFamilyAway: showFamilyAway,
});

// The centre's database refuses writes: alarms wait at the gateways until it is back.
let storeFault = null;
function showStoreFault(fault) {
  storeFault = fault;
  const banner = $("store-fault");
  banner.hidden = fault === null;
  banner.textContent = fault ? t("store.fault", { since: new Date(fault.since).toLocaleTimeString() }) : "";
}

// A family member changed a resident's away periods: no inactivity, night or check-in alarm
// comes from an away home, so the operators see each change until they dismiss it.
const FAMILY_NOTICES = 20;
function showFamilyAway(change) {
  const list = $("family-away");
  const until = change.away_now ? dateTime(change.away_now.end) : "";
  const periods = change.periods.map((p) => t("away.period", { start: dateTime(p.start), end: dateTime(p.end) })).join("; ");
  const text = t(`family_away.${change.action}`, {
    at: dateTime(change.at), by: change.by, resident: change.resident_name, until, periods: periods || "-",
  });
  const item = el("li", { dataset: { residentId: String(change.resident_id) } }, text, " ",
    el("button", { type: "button", on: { click: () => { item.remove(); list.hidden = !list.children.length; } } }, t("action.dismiss")));
  list.prepend(item);
  while (list.children.length > FAMILY_NOTICES) list.lastElementChild.remove();
  list.hidden = false;
  if (detail.data?.resident?.id === change.resident_id) detail.refresh().catch(report);
}

function refresh(changed) {
  queue.render();
  if (detail.alarmId && changed.has(detail.alarmId)) detail.refresh().catch(report);
}

function setConnection(state) {
  connection = state;
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = t(`connection.${state}`);
}

async function loadRecords() {
  const [responders, homes, organisations] = await Promise.all([
    allPages("/api/responders"), allPages("/api/homes"), allPages("/api/organisations"),
  ]);
  Object.assign(records, { responders, homes, organisations });
}

async function renderTab() {
  if (!user) return;
  if (tab === "map") {
    const alarmed = new Set([...store.alarms.values()].filter((a) => a.state !== "resolved").map((a) => a.home_id));
    drawMap($("map"), { homes: records.homes, responders: records.responders, alarmed, width: 900, height: 520 });
  } else if (tab === "responders") {
    $("responders-board").replaceChildren(respondersBoard(records.responders));
  } else if (tab === "devices") {
    const [gateways, events, batteries] = await Promise.all([
      api("/api/gateways"), api("/api/device-events?limit=1000"),
      api("/api/telemetry/latest?measurement=battery&field=percent").catch(() => []),
    ]);
    $("devices-board").replaceChildren(devicesBoard(gateways, events, batteries));
  } else if (tab === "orders") {
    const orders = await allPages("/api/service-orders");
    $("orders-board").replaceChildren(ordersBoard(orders));
  } else if (tab === "reports") {
    await reportsBoard($("reports-board"), records.organisations);
  }
}

function showTab(name) {
  tab = name;
  for (const panel of document.querySelectorAll("[data-tab-panel]")) panel.hidden = panel.dataset.tabPanel !== name;
  for (const button of document.querySelectorAll("[data-tab]")) button.setAttribute("aria-selected", String(button.dataset.tab === name));
  if (name !== "queue") loadRecords().then(renderTab).catch(report);
}

function showLogin() {
  user = null;
  live.reset();
  detail.close();
  setConnection("offline");
  showStoreFault(null);
  $("login").hidden = false; $("workspace").hidden = true; $("logout").hidden = true;
  $("whoami").textContent = ""; $("open-label").textContent = "";
}

async function showWorkspace(me) {
  user = me;
  $("login").hidden = true; $("workspace").hidden = false; $("logout").hidden = false;
  $("whoami").textContent = `${me.username} (${label("role", me.role)})`;
  showTab("queue");
  live.start();
  await loadRecords().catch(report);
}

function onKey(event) {
  if (!user || isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
  unlockAudio();
  const alarm = queue.current();
  const keys = {
    j: () => queue.move(1), ArrowDown: () => queue.move(1),
    k: () => queue.move(-1), ArrowUp: () => queue.move(-1),
    a: () => alarm && alarm.status === "open" && acknowledge(alarm),
    d: () => alarm && dispatch(alarm, null),
    Enter: () => alarm && detail.open(alarm.id).catch(report),
    Escape: () => detail.close(),
  };
  if (tab !== "queue" || !(event.key in keys)) return;
  event.preventDefault();
  keys[event.key]();
}

whenUnauthorised(() => { if (user) showLogin(); });

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  unlockAudio();  // the login click is the gesture that lets the page beep later
  const form = new FormData(event.target);
  $("login-error").textContent = "";
  try {
    await api("/api/auth/login", {
      method: "POST",
      body: { username: form.get("username"), password: form.get("password") },
    });
    event.target.reset();
    await showWorkspace(await api("/api/auth/me"));  // the login's answer lacks the permissions
  } catch {
    $("login-error").textContent = t("login.failed");
  }
});

$("logout").addEventListener("click", async () => {
  await api("/api/auth/logout", { method: "POST" }).catch(() => {});
  showLogin();
});
$("detail-close").addEventListener("click", () => detail.close());
$("language").addEventListener("change", (event) => loadLanguage(event.target.value).catch(report));
for (const button of document.querySelectorAll("[data-tab]")) button.addEventListener("click", () => showTab(button.dataset.tab));
document.addEventListener("keydown", onKey);
document.addEventListener("pointerdown", unlockAudio);
setInterval(() => detail.tick(), 1000);

onLanguageChange((lang) => {
  $("language").value = lang;
  setConnection(connection);
  showStoreFault(storeFault);
  if ($("login-error").textContent) $("login-error").textContent = t("login.failed");
  if (user) {
    $("whoami").textContent = `${user.username} (${label("role", user.role)})`;
    queue.render();
    detail.render();
    renderTab().catch(report);
  }
});

await loadLanguage(preferredLanguage());
api("/api/auth/me").then(showWorkspace).catch(() => showLogin());
