// Message catalogues (i18n/<lang>.json): every string the console shows comes from one.
// Static text in index.html names its key in data-i18n (text), data-i18n-title or
// data-i18n-placeholder / data-i18n-label (attributes); code calls t(key, params).

export const LANGUAGES = ["en", "zh-CN"];
const catalogues = {};
let current = "en";
const listeners = [];

export async function loadLanguage(lang) {
  if (!LANGUAGES.includes(lang)) lang = "en";
  if (!catalogues[lang]) {
    const response = await fetch(`i18n/${lang}.json`);
    catalogues[lang] = await response.json();
  }
  current = lang;
  document.documentElement.lang = lang;
  localStorage.setItem("console-lang", lang);
  applyTo(document);
  for (const listener of listeners) listener(lang);
}

export function preferredLanguage() {
  const saved = localStorage.getItem("console-lang");
  if (saved && LANGUAGES.includes(saved)) return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function language() { return current; }
export function onLanguageChange(listener) { listeners.push(listener); }

export function t(key, params = {}) {
  const text = catalogues[current]?.[key] ?? catalogues.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// A label for a value of a known vocabulary (alarm kinds, states ...), or the value itself.
export function label(group, value) {
  if (value === null || value === undefined) return "";
  const key = `${group}.${value}`;
  return catalogues[current]?.[key] ?? catalogues.en?.[key] ?? String(value).replace(/_/g, " ");
}

export function applyTo(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  document.title = t("app.title");
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString(current, { hour12: false }) : "";
}

export function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString(current, { hour12: false }) : "";
}
