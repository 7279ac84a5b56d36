// The centre's REST API with the console's session cookie (HttpOnly, SameSite=Strict).

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status} ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

let onUnauthorised = () => {};
export function whenUnauthorised(handler) { onUnauthorised = handler; }

export async function api(path, { method = "GET", body } = {}) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && path !== "/api/auth/login") onUnauthorised();
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    throw new ApiError(response.status, typeof detail.detail === "string" ? detail.detail : response.statusText);
  }
  return response.status === 204 ? null : response.json();
}

// Every page of a paged list (care records), up to the API's own page limit each time.
export async function allPages(path) {
  const items = [];
  const joiner = path.includes("?") ? "&" : "?";
  for (let offset = 0; ; offset += 1000) {
    const page = await api(`${path}${joiner}limit=1000&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}
