// The hookbridge console: plain JavaScript over the management API, no build step and no
// outside requests (the page's Content-Security-Policy allows this origin only, and the
// OpenID issuer's token endpoint when one is configured).

const TOKEN = "hookbridge.token";
const PKCE = "hookbridge.pkce";
const view = document.getElementById("view");
let config = null;
let leave = null; // the current page's clean-up (timers)

// ---------- small helpers ----------

/** An element: h("button", {class: "primary", onclick: f}, "Save"). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let fieldSeq = 0;
/** A labelled control; the label is its accessible name. */
function field(label, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  // The hint is outside the label: it describes the control, it does not name it.
  const box = h("div", { class: "field" }, h("label", { for: id }, label), control);
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute("aria-describedby", hid);
    box.append(h("span", { class: "hint", id: hid }, hint));
  }
  return box;
}
const input = (attrs = {}) => h("input", { type: "text", ...attrs });
const select = (options, value) =>
  h("select", {}, options.map(([v, t]) => h("option", { value: v, selected: v === value }, t)));
const checkbox = (label, checked) => {
  const box = h("input", { type: "checkbox", checked });
  return [h("label", { class: "check" }, box, label), box];
};

function toast(message, bad = false) {
  // Also in the browser's console, where tests and operators' tools see every error shown.
  if (bad) console.warn(`hookbridge: ${message}`);
  const t = h("div", { class: bad ? "bad" : "" }, message);
  document.getElementById("toast").append(t);
  setTimeout(() => t.remove(), 4000);
}

const when = (t) => (t ? new Date(t).toLocaleString() : "");
const lines = (text) => text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
const uuid = () => crypto.randomUUID();

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    Object.assign(this, { status, code, field });
  }
}

/** Calls the management API as the signed-in operator. */
async function api(method, path, body, extra = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN) || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["Idempotency-Key"] = uuid();
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), ...extra });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (resp.status === 401) {
    signOut("Your session ended: sign in again.");
    throw new ApiError(401, "UNAUTHORIZED", "not signed in");
  }
  if (!resp.ok) {
    const e = data && typeof data === "object" ? data : {};
    throw new ApiError(resp.status, e.code || `HTTP_${resp.status}`, e.message || text, e.field);
  }
  return data;
}

/** Runs an action, showing its error instead of throwing. */
async function attempt(what, f) {
  try {
    return await f();
  } catch (e) {
    if (e.status !== 401) toast(`${what}: ${e.code ? e.code + " — " : ""}${e.message}`, true);
    return undefined;
  }
}

function dialog(title, ...content) {
  const d = h("dialog", { "aria-label": title }, h("h2", {}, title), ...content);
  d.addEventListener("close", () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}

function confirmDialog(title, message, action) {
  return new Promise((resolve) => {
    const d = dialog(
      title,
      h("p", {}, message),
      h("div", { class: "bar" },
        h("button", { class: "danger", onclick: () => { resolve(true); d.close(); } }, action),
        h("button", { onclick: () => { resolve(false); d.close(); } }, "Cancel")),
    );
    d.addEventListener("cancel", () => resolve(false));
  });
}

/** An "Actions" menu button: opens with Enter/Space/ArrowDown, arrows move, Escape closes. */
function actionsMenu(label, items) {
  const button = h("button", { "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": label }, "Actions ▾");
  const wrap = h("span", { class: "menu" }, button);
  let menu = null;
  const close = (focus = true) => {
    if (!menu) return;
    menu.remove();
    menu = null;
    button.setAttribute("aria-expanded", "false");
    if (focus) button.focus();
  };
  const open = () => {
    menu = h("div", { role: "menu", "aria-label": label },
      items.filter(Boolean).map(([text, f, disabled]) =>
        h("button", { role: "menuitem", tabindex: "-1", disabled, onclick: () => { close(false); f(); } }, text)));
    menu.addEventListener("keydown", (e) => {
      const all = [...menu.querySelectorAll("[role=menuitem]:not([disabled])")];
      const i = all.indexOf(document.activeElement);
      if (e.key === "ArrowDown") { all[(i + 1) % all.length].focus(); e.preventDefault(); }
      if (e.key === "ArrowUp") { all[(i - 1 + all.length) % all.length].focus(); e.preventDefault(); }
      if (e.key === "Escape" || e.key === "Tab") close();
    });
    wrap.append(menu);
    button.setAttribute("aria-expanded", "true");
    menu.querySelector("[role=menuitem]:not([disabled])")?.focus();
  };
  button.addEventListener("click", () => (menu ? close() : open()));
  button.addEventListener("keydown", (e) => { if (e.key === "ArrowDown") { open(); e.preventDefault(); } });
  document.addEventListener("click", (e) => { if (menu && !wrap.contains(e.target)) close(false); });
  return wrap;
}

function table(headers, rows, empty = "Nothing here yet.") {
  if (!rows.length) return h("p", { class: "hint" }, empty);
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows));
}

function page(title, ...content) {
  view.replaceChildren(h("h1", {}, title), ...content);
  view.focus();
}

/** Cursor paging: "Previous page" and "Next page" over a list endpoint. */
function pager(load) {
  const stack = [];
  let current = null;
  const box = h("div", { class: "bar" });
  const show = async (cursor) => {
    const next = await load(cursor);
    current = cursor;
    box.replaceChildren(
      h("button", { disabled: !stack.length, onclick: () => show(stack.pop()) }, "Previous page"),
      h("button", { disabled: !next, onclick: () => { stack.push(current); show(next); } }, "Next page"),
    );
  };
  return { box, show: () => { stack.length = 0; return show(null); } };
}

// ---------- sign-in ----------

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function oidcStart() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const u = new URL(config.authorizationEndpoint);
  const params = {
    response_type: "code", client_id: config.clientId, redirect_uri: `${location.origin}/console`,
    scope: config.scopes, state, code_challenge: challenge, code_challenge_method: "S256",
  };
  if (config.audience && config.audience !== config.clientId) params.audience = config.audience;
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  location.assign(u.toString());
}

/** Back from the issuer: the code for tokens (PKCE), then the URL cleaned. */
async function oidcFinish(params) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, "", "/console#/overview");
  if (!saved || saved.state !== params.get("state")) throw new Error("the sign-in answer does not match this browser's request");
  const body = new URLSearchParams({
    grant_type: "authorization_code", code: params.get("code"), redirect_uri: `${location.origin}/console`,
    client_id: config.clientId, code_verifier: saved.verifier,
  });
  const resp = await fetch(config.tokenEndpoint, { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  const tokens = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(tokens.error_description || tokens.error || `token endpoint answered ${resp.status}`);
  // The API's authorizer checks the access token's audience; an issuer whose access tokens
  // are opaque gets the ID token (audience: the client id).
  const jwt = (t) => typeof t === "string" && t.split(".").length === 3;
  const token = jwt(tokens.access_token) ? tokens.access_token : tokens.id_token;
  if (!jwt(token)) throw new Error("the issuer returned no JWT");
  sessionStorage.setItem(TOKEN, token);
}

function subjectOf(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims.email || claims.preferred_username || claims.sub;
  } catch { return null; }
}

function signInPage(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  const box = h("section", { class: "signin", "aria-labelledby": "signin-title" }, h("h1", { id: "signin-title" }, "Sign in"));
  if (message) box.append(h("p", { class: "error", role: "alert" }, message));
  if (config.signIn === "ADMIN_TOKEN") {
    const token = input({ type: "password", autocomplete: "off", required: true });
    box.append(h("form", {
      onsubmit: async (e) => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN, token.value.trim());
        const ok = await api("GET", "/v1/webhooks?limit=1").then(() => true, () => false);
        if (ok) { document.getElementById("who").textContent = "admin token"; route(); }
        else signInPage("That token was not accepted.");
      },
    }, field("Admin token", token, "Printed by make run (also in the data directory's admin-token file)."),
      h("button", { class: "primary", type: "submit" }, "Sign in")));
    view.replaceChildren(box);
    token.focus();
  } else if (config.signIn === "OIDC") {
    if (config.error) box.append(h("p", { class: "error" }, `The identity provider could not be reached: ${config.error}`));
    box.append(h("p", { class: "hint" }, `With ${config.issuer}`),
      h("button", { class: "primary", disabled: !config.authorizationEndpoint, onclick: oidcStart }, "Sign in"));
    view.replaceChildren(box);
  } else {
    box.append(h("p", {}, "This deployment's management API is authorized with IAM, which a browser cannot sign. " +
      "Deploy with ManagementAuth=JWT and an OpenID issuer to use the console."));
    view.replaceChildren(box);
  }
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN);
  if (leave) { leave(); leave = null; }
  signInPage(message);
}

// ---------- Overview ----------

const STAT_LABELS = [
  ["eventsAccepted", "Events accepted"], ["eventsRefusedTotal", "Events refused"], ["processMessagesSent", "Process messages sent"],
  ["deliveriesSucceeded", "Deliveries succeeded"], ["deliveriesFailed", "Deliveries failed"],
  ["deliveriesPending", "Deliveries pending"], ["deliveriesRetried", "Retries scheduled"],
];

function statsWindow(title, w) {
  const id = `w-${title.replace(/\W/g, "")}`;
  const refused = Object.entries(w.eventsRefused);
  return h("section", { "aria-labelledby": id },
    h("h2", { id }, title),
    h("div", { class: "cards" }, STAT_LABELS.map(([k, label]) =>
      h("div", { class: "card", "data-stat": k }, h("div", { class: "n" }, String(w[k])), h("div", { class: "k" }, label)))),
    refused.length ? table(["Refused by code", "Events"], refused.map(([c, n]) => h("tr", {}, h("td", { class: "mono" }, c), h("td", {}, String(n))))) : null);
}

async function overview() {
  const body = h("div", {});
  const updated = h("p", { class: "hint", "aria-live": "polite" });
  page("Overview", updated, body);
  const load = async () => {
    const s = await attempt("Overview", () => api("GET", "/v1/stats"));
    if (!s) return;
    body.replaceChildren(statsWindow("Last hour", s.lastHour), statsWindow("Last day", s.lastDay));
    updated.textContent = `Updated ${when(s.generatedAt)}; refreshed every 5 seconds (each function writes its counts at most every ${s.flushIntervalSecs} s).`;
  };
  await load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

// ---------- Manage Triggers ----------

const STATE_TEXT = { ACTIVE: "Active", INACTIVE: "Deactivated" };
const TYPE_TEXT = { START_PROCESS: "Start process", RESUME_PROCESS: "Resume process" };
const LOCATION_FIELDS = [["orgId", "Organization"], ["workspaceId", "Workspace"], ["appId", "App"], ["projectId", "Project"], ["branchId", "Branch"]];

function locationText(l) {
  let t = `${l.orgId} / ${l.workspaceId} / ${l.appId}`;
  if (l.projectId) t += ` · project ${l.projectId}`;
  if (l.branchId) t += ` · branch ${l.branchId}`;
  return t;
}

async function triggers() {
  const filters = Object.fromEntries(LOCATION_FIELDS.map(([k]) => [k, input({ size: 14 })]));
  const state = select([["", "All"], ["ACTIVE", "Active"], ["INACTIVE", "Deactivated"]], "");
  const list = h("div", {});
  const query = () => {
    const q = new URLSearchParams({ limit: "25" });
    for (const [k, el] of Object.entries(filters)) if (el.value.trim()) q.set(k, el.value.trim());
    if (state.value) q.set("state", state.value);
    return q;
  };
  const paging = pager(async (cursor) => {
    const q = query();
    if (cursor) q.set("cursor", cursor);
    const res = await attempt("Manage Triggers", () => api("GET", `/v1/triggers?${q}`));
    if (!res) return null;
    list.replaceChildren(table(["State", "Trigger Type", "Event Name", "Location", "Provider", "Actions"], res.items.map(triggerRow),
      "No webhooks match. Create one with New webhook."));
    return res.nextCursor;
  });
  page("Manage Triggers",
    h("form", { class: "row", "aria-label": "Filters", onsubmit: (e) => { e.preventDefault(); paging.show(); } },
      LOCATION_FIELDS.map(([k, label]) => field(label, filters[k])), field("State", state),
      h("button", { type: "submit" }, "Apply filters")),
    h("div", { class: "bar" }, h("button", { class: "primary", onclick: () => webhookForm(null, () => paging.show()) }, "New webhook")),
    list, paging.box);
  await paging.show();
  function triggerRow(t) {
    const refresh = () => paging.show();
    const act = (verb) => attempt(verb, async () => {
      await api("POST", `/v1/webhooks/${t.webhookId}/${verb.toLowerCase()}`);
      toast(`${t.eventName}: ${verb === "Activate" ? "activated" : "deactivated"}`);
      refresh();
    });
    return h("tr", { "data-webhook": t.webhookId },
      h("td", {}, h("span", { class: `pill ${t.state}` }, STATE_TEXT[t.state])),
      h("td", {}, t.triggerType ? TYPE_TEXT[t.triggerType] : "Not bound"),
      h("td", {}, t.eventName),
      h("td", {}, locationText(t.location)),
      h("td", { class: "mono" }, t.provider),
      h("td", {}, actionsMenu(`Actions for ${t.eventName}`, [
        ["Activate", () => act("Activate"), t.state === "ACTIVE"],
        ["Deactivate", () => act("Deactivate"), t.state !== "ACTIVE"],
        ["Get URL", () => urlDialog(t)],
        ["Edit", () => attempt("Edit", async () => webhookForm(await api("GET", `/v1/webhooks/${t.webhookId}`), refresh))],
        ["Delete", async () => {
          if (t.state === "ACTIVE") { toast("Deactivate the webhook before deleting it.", true); return; }
          if (await confirmDialog("Delete webhook", `Delete ${t.eventName}? Its bindings and URL go with it; this cannot be undone.`, "Delete")) {
            await attempt("Delete", async () => { await api("DELETE", `/v1/webhooks/${t.webhookId}`); toast(`${t.eventName} deleted`); refresh(); });
          }
        }],
      ])));
  }
}

async function urlDialog(t) {
  const res = await attempt("Get URL", () => api("GET", `/v1/webhooks/${t.webhookId}/url`));
  if (!res) return;
  const url = input({ readonly: true, value: res.url, class: "mono", size: 80 });
  const status = h("span", { class: "hint", role: "status" });
  const d = dialog(`URL of ${t.eventName}`,
    field("Webhook URL", url, "The API key is part of the URL: share it only with the provider."),
    h("div", { class: "bar" },
      h("button", { class: "primary", onclick: async () => {
        await navigator.clipboard.writeText(url.value).then(() => { status.textContent = "Copied"; }, () => { url.select(); status.textContent = "Press Ctrl+C to copy"; });
      } }, "Copy"),
      h("button", { class: "danger", onclick: async () => {
        const ok = await confirmDialog("Reset API Key",
          "Reset the API key? The old URL stops working at once: every provider calling it must be given the new URL.", "Reset");
        if (!ok) return;
        const r = await attempt("Reset API Key", () => api("POST", `/v1/webhooks/${t.webhookId}/api-key`));
        if (r) { url.value = r.url; status.textContent = "New key: the old URL no longer works"; }
      } }, "Reset API Key"),
      status),
    h("div", { class: "bar" }, h("button", { onclick: () => d.close() }, "Close")));
}

// ---------- the webhook form ----------

const NAME_RULES = "3–50 characters: letters, digits, [ ] ( ) . _ -";
const NAME_PATTERN = /^[A-Za-z0-9[\]()._-]{3,50}$/;
let providerCache = null;
const providers = async () => (providerCache ||= await api("GET", "/v1/providers"));
const human = (name) => name.replace(/([A-Z])/g, " $1").replace(/^./, (c) => c.toUpperCase()).replace(/ ([A-Z])/g, (m, c) => ` ${c.toLowerCase()}`);

/** The inputs for a provider's secret, and a reader that builds `providerSecret`. */
function secretInputs(info) {
  if (!info || !info.secretFields.length) return { box: h("p", { class: "hint" }, "This provider is authenticated by the URL's API key alone."), read: () => null };
  const inputs = info.secretFields.map((f) => {
    const label = f.name === "providerSecret" ? "Provider secret" : human(f.name);
    const el = f.name === "publicKey" || /PEM/.test(f.shape) ? h("textarea", {}) : input({ autocomplete: "off" });
    return [f, el, field(label, el, f.shape)];
  });
  return {
    box: h("div", { class: "grid" }, inputs.map(([, , l]) => l)),
    read: () => {
      if (inputs.length === 1 && inputs[0][0].name === "providerSecret") return inputs[0][1].value.trim() || null;
      const out = {};
      for (const [f, el] of inputs) {
        const v = el.value.trim();
        if (!v) continue;
        out[f.name] = /^\d+$/.test(v) && /seconds|integer|number/i.test(f.shape) ? Number(v) : v;
      }
      return Object.keys(out).length ? out : null;
    },
  };
}

function helperInputs(title, current) {
  const url = input({ value: current?.url || "", size: 50 });
  const token = input({ type: "password", autocomplete: "off" });
  return {
    box: h("fieldset", {}, h("legend", {}, title), h("div", { class: "grid" },
      field(`${title} URL`, url, current ? "Saved; leave as is to keep it, clear it to remove it." : "Optional: called on activation / deactivation."),
      field(`${title} bearer token`, token, "Optional; never shown again."))),
    read: () => {
      const u = url.value.trim();
      if (!u) return current ? null : undefined;
      if (current && u === current.url && !token.value) return undefined;
      return { url: u, auth: token.value ? { type: "BEARER", token: token.value } : null };
    },
  };
}

async function webhookForm(existing, done) {
  const all = await attempt("Providers", providers);
  if (!all) return;
  const name = input({ value: existing?.name || "", required: true, maxlength: 50 });
  const nameError = h("span", { class: "error", "aria-live": "polite" });
  name.addEventListener("input", () => { nameError.textContent = NAME_PATTERN.test(name.value) ? "" : `Not a valid name: ${NAME_RULES}`; });
  const description = h("textarea", {}, existing?.description || "");
  const loc = Object.fromEntries(LOCATION_FIELDS.map(([k]) => [k, input({ value: existing?.location?.[k] || "", disabled: !!existing })]));
  const provider = select(all.map((p) => [p.name, p.name]), existing?.provider || "GENERIC");
  provider.disabled = !!existing;
  const secretBox = h("div", {});
  let secret = null;
  const showSecret = () => {
    secret = secretInputs(all.find((p) => p.name === provider.value));
    secretBox.replaceChildren(h("fieldset", {}, h("legend", {}, "Provider secret"), secret.box));
  };
  provider.addEventListener("change", showSecret);
  if (!existing) showSecret();
  const registration = helperInputs("Registration helper", existing?.registration);
  const deregistration = helperInputs("Deregistration helper", existing?.deregistration);
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        let saved;
        if (existing) {
          const patch = { name: name.value.trim(), description: description.value };
          const r = registration.read(); if (r !== undefined) patch.registration = r;
          const dr = deregistration.read(); if (dr !== undefined) patch.deregistration = dr;
          saved = await api("PATCH", `/v1/webhooks/${existing.id}`, patch);
        } else {
          const location = {};
          for (const [k, el] of Object.entries(loc)) if (el.value.trim()) location[k] = el.value.trim();
          const body = { name: name.value.trim(), description: description.value, provider: provider.value, location };
          const s = secret.read(); if (s !== null) body.providerSecret = s;
          const r = registration.read(); if (r) body.registration = r;
          const dr = deregistration.read(); if (dr) body.deregistration = dr;
          saved = await api("POST", "/v1/webhooks", body);
        }
        toast(`${saved.name} saved`);
        d.close();
        done();
        if (!existing) webhookForm(saved, done); // on to its bindings
      } catch (err) {
        error.textContent = `${err.code}: ${err.message}${err.field ? ` (${err.field})` : ""}`;
      }
    },
  },
  h("div", { class: "grid" }, field("Name", name, NAME_RULES), field("Provider", provider)), nameError,
  field("Description", description),
  h("fieldset", {}, h("legend", {}, "Location"), h("div", { class: "grid" }, LOCATION_FIELDS.map(([k, label]) =>
    field(label, loc[k], k === "projectId" || k === "branchId" ? "Optional" : null)))),
  secretBox, registration.box, deregistration.box, error,
  h("div", { class: "bar" }, h("button", { class: "primary", type: "submit" }, "Save"), h("button", { type: "button", onclick: () => d.close() }, "Close")));
  const d = dialog(existing ? `Edit ${existing.name}` : "New webhook", form);
  if (existing) {
    d.append(await bindingsSection(existing, done), rotationSection(existing, all));
  }
  name.focus();
}

async function bindingsSection(w, done) {
  const box = h("section", { "aria-label": "Bindings" }, h("h2", {}, "Bindings"));
  const list = h("div", {});
  const load = async () => {
    const res = await attempt("Bindings", () => api("GET", `/v1/webhooks/${w.id}/bindings`));
    if (!res) return;
    list.replaceChildren(table(["Type", "Process", "Correlation", "Queue", ""], res.items.map((b) => h("tr", {},
      h("td", {}, TYPE_TEXT[b.type]),
      h("td", { class: "mono" }, b.processDefinitionId || b.catchEventId),
      h("td", { class: "mono" }, b.webhookCorrelationKey ? `${b.webhookCorrelationKey} → ${b.processCorrelationKey}` : ""),
      h("td", { class: "mono" }, b.queue),
      h("td", {}, h("button", { class: "danger", "aria-label": `Remove binding ${b.id}`, onclick: () => attempt("Remove binding", async () => {
        await api("DELETE", `/v1/webhooks/${w.id}/bindings/${b.id}`); load(); done();
      }) }, "Remove")))), "Not bound: events are refused until a binding starts or resumes a process."));
  };
  const type = select([["START_PROCESS", "Start a process"], ["RESUME_PROCESS", "Resume a waiting process"]], "START_PROCESS");
  const f = {
    processDefinitionId: input(), queue: input(), catchEventId: input(),
    webhookCorrelationKey: input({ placeholder: "data.order.id" }), processCorrelationKey: input(), processKey: input(),
  };
  const startFields = h("div", { class: "grid" }, field("Process definition ID", f.processDefinitionId));
  const resumeFields = h("div", { class: "grid" }, field("Catch event ID", f.catchEventId),
    field("Webhook correlation key", f.webhookCorrelationKey, "A path into the payload: dotted names and [n] indices"),
    field("Process correlation key", f.processCorrelationKey), field("Process key", f.processKey, "Where the resumed instance keeps the payload"));
  const sync = () => { startFields.hidden = type.value !== "START_PROCESS"; resumeFields.hidden = !startFields.hidden; };
  type.addEventListener("change", sync);
  sync();
  const add = h("form", {
    "aria-label": "Add binding",
    onsubmit: (e) => {
      e.preventDefault();
      const keys = type.value === "START_PROCESS" ? ["processDefinitionId", "queue"] : ["catchEventId", "webhookCorrelationKey", "processCorrelationKey", "processKey", "queue"];
      const body = { type: type.value };
      for (const k of keys) body[k] = f[k].value.trim();
      attempt("Add binding", async () => { await api("POST", `/v1/webhooks/${w.id}/bindings`, body); toast("Binding added"); load(); done(); });
    },
  }, h("div", { class: "grid" }, field("Binding type", type), field("Queue", f.queue, "The process engine's queue: a local queue name or an SQS queue URL")),
  startFields, resumeFields, h("button", { type: "submit" }, "Add binding"));
  box.append(list, h("h2", {}, "Add a binding"), add);
  await load();
  return box;
}

function rotationSection(w, all) {
  const info = all.find((p) => p.name === w.provider);
  if (!info?.secretFields.length) return h("div", {});
  const secret = secretInputs(info);
  const overlap = input({ type: "number", min: "0", max: "604800", value: "86400" });
  return h("section", { "aria-label": "Rotate provider secret" }, h("h2", {}, "Rotate provider secret"),
    h("form", {
      onsubmit: (e) => {
        e.preventDefault();
        attempt("Rotate provider secret", async () => {
          await api("PUT", `/v1/webhooks/${w.id}/provider-secret`, { providerSecret: secret.read(), overlapSeconds: Number(overlap.value) });
          toast("Provider secret rotated; the previous one verifies until the overlap ends");
        });
      },
    }, secret.box, field("Overlap (seconds)", overlap, "How long the previous secret keeps verifying"),
    h("button", { type: "submit" }, "Rotate provider secret")));
}

// ---------- Failed Triggers ----------

async function failed() {
  const list = h("div", {});
  const chosen = new Set();
  const replay = async (id) => {
    try {
      await api("POST", `/v1/failed-triggers/${id}/replay`);
      return true;
    } catch (e) {
      if (e.status !== 401) toast(`Replay: ${e.code} — ${e.message}`, true);
      return false;
    }
  };
  const paging = pager(async (cursor) => {
    const q = new URLSearchParams({ limit: "25" });
    if (cursor) q.set("cursor", cursor);
    const res = await attempt("Failed Triggers", () => api("GET", `/v1/failed-triggers?${q}`));
    if (!res) return null;
    chosen.clear();
    list.replaceChildren(table(["", "Time", "Code", "Message", "Webhook", "Process definition", "Binding", "Source", "Details", ""],
      res.items.map((t) => {
        const box = h("input", { type: "checkbox", "aria-label": `Select failed trigger ${t.id}`, onchange: (e) => (e.target.checked ? chosen.add(t.id) : chosen.delete(t.id)) });
        return h("tr", { "data-failed": t.id },
          h("td", {}, box), h("td", {}, when(t.failedAt)), h("td", { class: "mono" }, t.code), h("td", {}, t.message),
          h("td", { class: "mono" }, t.webhookId), h("td", { class: "mono" }, t.processDefinitionId || ""),
          h("td", { class: "mono" }, t.bindingId || ""), h("td", {}, t.source === "FANOUT" ? "Fan-out" : "Ingress"),
          h("td", { class: "mono" }, Object.entries(t.details || {}).map(([k, v]) => h("div", {}, `${k}: ${v}`)), t.replayedAt ? h("div", { class: "hint" }, `Replayed ${when(t.replayedAt)}`) : null),
          h("td", {}, h("button", { "aria-label": `Replay ${t.id}`, onclick: async () => { if (await replay(t.id)) { toast("Replayed: the event was queued again"); paging.show(); } } }, "Replay")));
      }), "No failed triggers."));
    return res.nextCursor;
  });
  page("Failed Triggers",
    h("p", { class: "hint" }, "Events that passed authentication but could not start or resume their processes."),
    h("div", { class: "bar" }, h("button", {
      onclick: async () => {
        if (!chosen.size) { toast("Select failed triggers first", true); return; }
        let ok = 0;
        for (const id of chosen) if (await replay(id)) ok += 1;
        toast(`Replayed ${ok} of ${chosen.size}`);
        paging.show();
      },
    }, "Replay selected")),
    list, paging.box);
  await paging.show();
}

// ---------- Connectors ----------

const AUTH_TYPES = [["NONE", "None"], ["BEARER", "Bearer token"], ["API_KEY", "API key"], ["BASIC", "Basic"], ["CLIENT_SECRET", "Client secret in the body"],
  ["OAUTH2_CLIENT_CREDENTIALS", "OAuth 2.0 client credentials"], ["AWS_SIGV4", "AWS Signature V4"]];
const AUTH_FIELDS = {
  NONE: [], BEARER: [["token", "Token", true]], API_KEY: [["key", "Key name"], ["value", "Key value", true], ["in", "Sent in (HEADER or QUERY)"]],
  BASIC: [["username", "Username"], ["password", "Password", true]], CLIENT_SECRET: [["secret", "Client secret", true]],
  OAUTH2_CLIENT_CREDENTIALS: [["tokenUrl", "Token URL"], ["clientId", "Client ID"], ["clientSecret", "Client secret", true], ["scopes", "Scopes (space separated)"], ["audience", "Audience"], ["clientAuth", "Client auth (BASIC or POST)"]],
  AWS_SIGV4: [["service", "Service"], ["region", "Region"], ["roleArn", "Role ARN"], ["externalId", "External ID"]],
};
const SIGNING = [["", "None"], ["STANDARD_WEBHOOKS", "Standard Webhooks"], ["DESCOPE", "Descope"], ["HUB_SIGNATURE_256", "X-Hub-Signature-256"], ["HTTP_MESSAGE_SIGNATURES", "HTTP Message Signatures (RFC 9421)"]];

async function connectors() {
  const list = h("div", {});
  const load = async () => {
    const res = await attempt("Connectors", () => api("GET", "/v1/connectors?limit=200"));
    if (!res) return;
    list.replaceChildren(table(["Name", "Endpoint", "Auth", "Signing", "State", "Actions"], res.items.map((c) => h("tr", { "data-connector": c.id },
      h("td", {}, c.name, c.description ? h("div", { class: "hint" }, c.description) : null),
      h("td", { class: "mono" }, `${c.method} ${c.baseUrl}${c.path ? "/" + c.path : ""}`),
      h("td", {}, c.auth.type), h("td", {}, c.signing ? `${c.signing.scheme} (${c.signing.algorithm})` : "None"),
      h("td", {}, c.enabled ? "Enabled" : `Disabled${c.disabledReason ? ": " + c.disabledReason : ""}`, c.insecure ? h("div", { class: "warning" }, "Certificates not verified") : null),
      h("td", {}, actionsMenu(`Actions for ${c.name}`, [
        ["Edit", () => connectorForm(c, load)],
        ["Send test event", () => testEvent(c)],
        ["Signing secret", () => signingSecret(c)],
        ["Deliveries", () => { location.hash = `#/deliveries?connector=${c.id}`; }],
        ["Delete", async () => {
          if (await confirmDialog("Delete connector", `Delete ${c.name}? Pending deliveries to it stop.`, "Delete")) {
            await attempt("Delete", async () => { await api("DELETE", `/v1/connectors/${c.id}`); load(); });
          }
        }],
      ])))), "No connectors yet."));
  };
  page("Connectors", h("div", { class: "bar" }, h("button", { class: "primary", onclick: () => connectorForm(null, load) }, "New connector")), list);
  await load();
}

function connectorForm(c, done) {
  const v = (x) => (x === undefined || x === null ? "" : String(x));
  const f = {
    name: input({ value: v(c?.name), required: true }), description: h("textarea", {}, v(c?.description)),
    baseUrl: input({ value: v(c?.baseUrl), required: true, size: 40 }), path: input({ value: v(c?.path) }),
    method: select(["POST", "PUT", "PATCH", "GET", "DELETE"].map((m) => [m, m]), c?.method || "POST"),
    authType: select(AUTH_TYPES, c?.auth?.type || "NONE"),
    headers: h("textarea", {}, Object.entries(c?.headers || {}).map(([k, x]) => `${k}: ${x}`).join("\n")),
    signing: select(SIGNING, c?.signing?.scheme || ""), algorithm: select([["HMAC_SHA256", "HMAC-SHA256"], ["ED25519", "Ed25519"]], c?.signing?.algorithm || "HMAC_SHA256"),
    keyId: input({ value: v(c?.signing?.keyId) }),
    eventTypes: input({ value: (c?.eventTypes || []).join(", "), size: 40 }),
    retry: input({ value: (c?.retry?.scheduleSecs || []).join(", "), size: 40 }),
    timeout: input({ type: "number", min: "100", max: "60000", value: v(c?.timeoutMs || 10000) }),
    batch: input({ type: "number", min: "1", max: "1000", value: v(c?.batch?.maxEvents) }),
    bodyTemplate: h("textarea", {}, c?.bodyTemplate === undefined || c?.bodyTemplate === null ? "" : JSON.stringify(c.bodyTemplate, null, 2)),
    filters: h("textarea", {}, (c?.filters || []).map((x) => `${x.key} ${x.operator} ${x.values.join(", ")}`).join("\n")),
    ca: h("textarea", {}, v(c?.tls?.caCertificate)), clientCert: h("textarea", {}), clientKey: h("textarea", {}),
  };
  const [trustLabel, trust] = checkbox("Trust Any Certificate", !!c?.trustAnyCertificate);
  const [enabledLabel, enabled] = checkbox("Enabled", c ? c.enabled : true);
  const trustWarning = h("p", { class: "warning", id: "trust-warning" },
    "Warning: certificates are not verified, so anyone on the network path can read and change the traffic. Prefer a private CA below.");
  const syncTrust = () => { trustWarning.hidden = !trust.checked; };
  trust.addEventListener("change", syncTrust);
  syncTrust();
  const authBox = h("div", { class: "grid" });
  const authInputs = {};
  const showAuth = () => {
    authBox.replaceChildren();
    for (const [k, label, secret] of AUTH_FIELDS[f.authType.value]) {
      const current = c?.auth?.type === f.authType.value ? c.auth[k] : undefined;
      authInputs[k] = input({ type: secret ? "password" : "text", autocomplete: "off", value: Array.isArray(current) ? current.join(" ") : v(current) });
      authBox.append(field(label, authInputs[k], secret && c ? "Leave empty to keep the saved credential" : null));
    }
  };
  f.authType.addEventListener("change", showAuth);
  showAuth();
  const error = h("p", { class: "error", role: "alert" });
  const build = () => {
    const body = { name: f.name.value.trim(), description: f.description.value, baseUrl: f.baseUrl.value.trim(), path: f.path.value.trim(), method: f.method.value };
    const headers = {};
    for (const line of f.headers.value.split("\n").map((s) => s.trim()).filter(Boolean)) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    body.headers = headers;
    const type = f.authType.value;
    const auth = { type };
    let secretGiven = false;
    for (const [k, , secret] of AUTH_FIELDS[type]) {
      const x = authInputs[k].value.trim();
      if (!x) continue;
      if (secret) secretGiven = true;
      auth[k] = k === "scopes" ? x.split(/\s+/) : x;
    }
    const needsSecret = AUTH_FIELDS[type].some(([, , s]) => s);
    if (!c || type !== c.auth.type || !needsSecret || secretGiven) body.auth = auth;
    if (f.signing.value) {
      if (!c || c.signing?.scheme !== f.signing.value || c.signing?.algorithm !== f.algorithm.value || v(c.signing?.keyId) !== f.keyId.value.trim()) {
        body.signing = { scheme: f.signing.value, algorithm: f.algorithm.value };
        if (f.keyId.value.trim()) body.signing.keyId = f.keyId.value.trim();
      }
    } else if (c?.signing) body.signing = null;
    body.trustAnyCertificate = trust.checked;
    body.enabled = enabled.checked;
    body.eventTypes = lines(f.eventTypes.value);
    if (f.retry.value.trim()) body.retry = { scheduleSecs: lines(f.retry.value).map(Number) };
    body.timeoutMs = Number(f.timeout.value) || 10000;
    if (f.batch.value) body.batch = { maxEvents: Number(f.batch.value) }; else if (c?.batch) body.batch = null;
    if (f.bodyTemplate.value.trim()) body.bodyTemplate = JSON.parse(f.bodyTemplate.value); else if (c?.bodyTemplate !== undefined && c?.bodyTemplate !== null) body.bodyTemplate = null;
    body.filters = f.filters.value.split("\n").map((s) => s.trim()).filter(Boolean).map((line) => {
      const [key, operator, ...rest] = line.split(/\s+/);
      return { key, operator, values: lines(rest.join(" ")) };
    });
    const tls = {};
    if (f.ca.value.trim()) tls.caCertificate = f.ca.value.trim();
    if (f.clientCert.value.trim()) { tls.clientCertificate = f.clientCert.value.trim(); tls.clientKey = f.clientKey.value.trim(); }
    if (Object.keys(tls).length) body.tls = tls; else if (c?.tls) body.tls = null;
    return body;
  };
  const d = dialog(c ? `Edit ${c.name}` : "New connector", h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        const body = build();
        const saved = c ? await api("PATCH", `/v1/connectors/${c.id}`, body) : await api("POST", "/v1/connectors", body);
        toast(`${saved.name} saved`);
        d.close();
        done();
      } catch (err) {
        error.textContent = err instanceof SyntaxError ? `Body template: ${err.message}` : `${err.code}: ${err.message}${err.field ? ` (${err.field})` : ""}`;
      }
    },
  },
  h("div", { class: "grid" }, field("Name", f.name), field("Base URL", f.baseUrl, "https://… (http only on loopback locally)"), field("Path", f.path, "Appended after a /"), field("Method", f.method)),
  field("Description", f.description),
  h("fieldset", {}, h("legend", {}, "Authentication"), field("Authentication type", f.authType), authBox),
  field("Headers", f.headers, "One per line: Name: value"),
  h("fieldset", {}, h("legend", {}, "Signing"), h("div", { class: "grid" }, field("Signing scheme", f.signing), field("Signing algorithm", f.algorithm), field("Key ID", f.keyId, "RFC 9421 keyid"))),
  h("fieldset", {}, h("legend", {}, "TLS"), trustLabel, trustWarning,
    h("div", { class: "grid" }, field("CA certificate (PEM)", f.ca), field("Client certificate (PEM)", f.clientCert), field("Client key (PEM)", f.clientKey, "Never shown again"))),
  h("div", { class: "grid" }, field("Event types", f.eventTypes, "Comma separated; * matches anything; empty: every type"),
    field("Retry schedule (seconds)", f.retry, "Comma separated delays before each retry"), field("Timeout (ms)", f.timeout), field("Batch size", f.batch, "Optional: events per request")),
  field("Filters", f.filters, "One per line: actions|tenants includes|excludes value, value"),
  field("Body template (JSON)", f.bodyTemplate, "Optional; ${path} takes a value from the event"),
  enabledLabel, error,
  h("div", { class: "bar" }, h("button", { class: "primary", type: "submit" }, "Save"), h("button", { type: "button", onclick: () => d.close() }, "Close"))));
  f.name.focus();
}

function testEvent(c) {
  const type = input({ value: "console.test" });
  const data = h("textarea", {}, JSON.stringify({ message: "hello from the hookbridge console" }, null, 2));
  const out = h("div", { "aria-live": "polite" });
  const d = dialog(`Send test event to ${c.name}`,
    h("form", {
      onsubmit: (e) => {
        e.preventDefault();
        attempt("Send test event", async () => {
          const event = { id: uuid(), type: type.value.trim(), occurredAt: new Date().toISOString(), source: "console", data: JSON.parse(data.value || "null") };
          const r = await api("POST", `/v1/connectors/${c.id}/invoke`, event);
          out.replaceChildren(
            h("p", {}, h("strong", {}, `Receiver answered ${r.status ?? "nothing"}`), ` in ${r.latencyMs} ms`, r.error ? h("span", { class: "error" }, ` — ${r.error}`) : null),
            h("pre", { "aria-label": "Receiver's answer" }, typeof r.body === "string" ? r.body : JSON.stringify(r.body, null, 2)));
        });
      },
    }, field("Event type", type), field("Data (JSON)", data), h("div", { class: "bar" }, h("button", { class: "primary", type: "submit" }, "Send"), h("button", { type: "button", onclick: () => d.close() }, "Close"))),
    out);
}

async function signingSecret(c) {
  if (!c.signing) { toast(`${c.name} does not sign its requests`, true); return; }
  const s = await attempt("Signing secret", () => api("GET", `/v1/connectors/${c.id}/signing-secret`));
  if (!s) return;
  const shown = input({ readonly: true, class: "mono", size: 70, value: s.secret || s.publicKey });
  const note = h("p", { class: "hint" }, s.secret ? "The receiver verifies with this secret." : "Ed25519: the receiver verifies with this public key (the private key is never shown).");
  const d = dialog(`Signing secret of ${c.name}`, field(s.secret ? "Signing secret" : "Public key", shown), note,
    h("div", { class: "bar" },
      h("button", { class: "danger", onclick: async () => {
        if (!(await confirmDialog("Rotate signing secret", "Rotate? The previous secret keeps signing for 24 hours, so receivers can switch.", "Rotate"))) return;
        const r = await attempt("Rotate", () => api("POST", `/v1/connectors/${c.id}/signing-secret/rotate`, {}));
        if (r) { shown.value = r.secret || r.publicKey; note.textContent = `Rotated; the previous one signs until ${when(r.previousValidUntil)}.`; }
      } }, "Rotate signing secret"),
      h("button", { onclick: () => d.close() }, "Close")));
}

// ---------- Deliveries ----------

async function deliveries(params) {
  const all = await attempt("Connectors", () => api("GET", "/v1/connectors?limit=200"));
  if (!all) return;
  const names = Object.fromEntries(all.items.map((c) => [c.id, c.name]));
  const connector = select([["", "Every connector"], ...all.items.map((c) => [c.id, c.name])], params.get("connector") || "");
  const status = select([["", "Any status"], ["PENDING", "Pending"], ["SUCCEEDED", "Succeeded"], ["FAILED", "Failed"]], params.get("status") || "");
  const since = input({ type: "datetime-local" });
  const eventId = input({ size: 36 });
  const list = h("div", {});
  const eventOut = h("section", { "aria-live": "polite", "aria-label": "Deliveries of the event" });
  const paging = pager(async (cursor) => {
    const q = new URLSearchParams({ limit: "25" });
    if (connector.value) q.set("connectorId", connector.value);
    if (status.value) q.set("status", status.value);
    if (cursor) q.set("cursor", cursor);
    const res = await attempt("Deliveries", () => api("GET", `/v1/deliveries?${q}`));
    if (!res) return null;
    list.replaceChildren(table(["Created", "Event", "Connector", "Status", "Attempts", ""], res.items.map((d) => h("tr", { "data-delivery": d.id },
      h("td", {}, when(d.createdAt)),
      h("td", { class: "mono" }, `${d.event.type}`, h("div", { class: "hint" }, d.event.id)),
      h("td", {}, names[d.connectorId] || d.connectorId),
      h("td", {}, h("span", { class: `pill ${d.status}` }, d.status), d.nextAttemptAt && d.status === "PENDING" ? h("div", { class: "hint" }, `next ${when(d.nextAttemptAt)}`) : null),
      h("td", {}, attemptsTable(d.attempts)),
      h("td", {}, h("button", { "aria-label": `Redeliver ${d.id}`, onclick: () => attempt("Redeliver", async () => { await api("POST", `/v1/deliveries/${d.id}/redeliver`); toast("Queued for redelivery"); paging.show(); }) }, "Redeliver")))),
    "No deliveries match."));
    return res.nextCursor;
  });
  page("Deliveries",
    h("form", { class: "row", "aria-label": "Filters", onsubmit: (e) => { e.preventDefault(); paging.show(); } },
      field("Connector", connector), field("Status", status), h("button", { type: "submit" }, "Show")),
    h("form", { class: "row", "aria-label": "Recover", onsubmit: (e) => {
      e.preventDefault();
      if (!connector.value || !since.value) { toast("Choose a connector and a time to recover from", true); return; }
      attempt("Recover", async () => {
        const r = await api("POST", `/v1/connectors/${connector.value}/recover?since=${encodeURIComponent(new Date(since.value).toISOString())}`);
        toast(`Redelivering ${r.redelivered} failed deliveries`);
        paging.show();
      });
    } }, field("Recover failed deliveries since", since), h("button", { type: "submit" }, "Recover")),
    list, paging.box,
    h("h2", {}, "Deliveries of one event"),
    h("form", { class: "row", "aria-label": "Event lookup", onsubmit: (e) => {
      e.preventDefault();
      attempt("Event lookup", async () => {
        const r = await api("GET", `/v1/events/${encodeURIComponent(eventId.value.trim())}/deliveries`);
        eventOut.replaceChildren(table(["Connector", "Status", "Attempts", "Last attempt", "Next attempt"], r.map((x) => h("tr", {},
          h("td", {}, x.connectorName), h("td", {}, h("span", { class: `pill ${x.status}` }, x.status)), h("td", {}, String(x.attempts)),
          h("td", {}, x.lastAttempt ? `${when(x.lastAttempt.at)} · ${x.lastAttempt.status ?? "no answer"} · ${x.lastAttempt.latencyMs} ms${x.lastAttempt.error ? " · " + x.lastAttempt.error : ""}` : ""),
          h("td", {}, when(x.nextAttemptAt)))), "No delivery was made for this event."));
      });
    } }, field("Event ID", eventId), h("button", { type: "submit" }, "Look up")),
    eventOut);
  await paging.show();
}

function attemptsTable(attempts) {
  if (!attempts.length) return "none yet";
  return h("details", {}, h("summary", {}, `${attempts.length} attempt${attempts.length > 1 ? "s" : ""}, last ${attempts.at(-1).status ?? "no answer"}`),
    h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Status code", "Latency", "Error", "Response"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, attempts.map((a) => h("tr", {}, h("td", {}, when(a.at)), h("td", {}, a.status ?? "—"), h("td", {}, `${a.latencyMs} ms`),
        h("td", {}, a.error || ""), h("td", { class: "mono" }, (a.response || "").slice(0, 300)))))));
}

// ---------- routing ----------

const ROUTES = { overview, triggers, failed, connectors, deliveries };

async function route() {
  if (leave) { leave(); leave = null; }
  if (!sessionStorage.getItem(TOKEN)) { signInPage(); return; }
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").hidden = false;
  const [path, query] = (location.hash.slice(2) || "overview").split("?");
  const name = ROUTES[path] ? path : "overview";
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const cleanup = await ROUTES[name](new URLSearchParams(query || ""));
  if (typeof cleanup === "function") leave = cleanup;
}

async function start() {
  config = await fetch("/console/config.json").then((r) => r.json());
  document.getElementById("sign-out").addEventListener("click", () => {
    signOut();
    if (config.signIn === "OIDC" && config.endSessionEndpoint) location.assign(config.endSessionEndpoint);
  });
  const params = new URLSearchParams(location.search);
  if (config.signIn === "OIDC" && params.has("code")) {
    try { await oidcFinish(params); } catch (e) { signInPage(`Sign-in failed: ${e.message}`); return; }
  } else if (config.signIn === "OIDC" && params.has("error")) {
    history.replaceState(null, "", "/console");
    signInPage(`Sign-in failed: ${params.get("error_description") || params.get("error")}`);
    return;
  }
  const token = sessionStorage.getItem(TOKEN);
  if (token) document.getElementById("who").textContent = config.signIn === "OIDC" ? subjectOf(token) || "" : "admin token";
  window.addEventListener("hashchange", route);
  route();
}

start();
