// The blog's REST API: one place that knows the base URL, the error envelope and timeouts.

const TIMEOUT_MS = 15000;

/** The API answered with an error: status, and the envelope's Code and Message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** The API could not be reached at all (offline, DNS, CORS, timeout). */
export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = "NetworkError";
  }
}

/** The site has no usable config.js: a deployment mistake, not the visitor's. */
export class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = "ConfigError";
  }
}

function baseUrl() {
  const config = window.MYTODOLIST_CONFIG;
  const url = config && typeof config.apiUrl === "string" ? config.apiUrl.trim() : "";
  if (!url) {
    throw new ConfigError("This site is not configured yet: config.js does not name the API.");
  }
  return url.replace(/\/+$/, "");
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "omit" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (typeof AbortSignal.timeout === "function") {
    init.signal = AbortSignal.timeout(TIMEOUT_MS);
  }
  const url = baseUrl() + path;
  let response;
  let text;
  try {
    response = await fetch(url, init);
    text = await response.text();
  } catch {
    throw new NetworkError("We could not reach the blog's server. Check your connection and try again.");
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const envelope = data && typeof data === "object" ? data : {};
    const message = typeof envelope.Message === "string" && envelope.Message
      ? envelope.Message
      : `The server answered with an error (${response.status}). Please try again later.`;
    throw new ApiError(response.status, String(envelope.Code || "Error"), message);
  }
  return data;
}

/** One page of published posts, newest first: {items, next_cursor}. */
export function listPosts({ limit = 10, cursor = null } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) {
    query.set("cursor", cursor);
  }
  return request("GET", `/posts?${query}`);
}

/** One published post. */
export function getPost(slug) {
  return request("GET", `/posts/${encodeURIComponent(slug)}`);
}

/** Subscribe an address: resolves to {status: "pending"}. */
export function subscribe(email) {
  return request("POST", "/subscriptions", { email });
}

/** Confirm a subscription by the token from the confirmation mail's link. */
export function confirmSubscription(token) {
  return request("POST", "/subscriptions/confirm", { token });
}

/** Unsubscribe by the token from a mail's link. */
export function unsubscribe(token) {
  return request("POST", "/subscriptions/unsubscribe", { token });
}
