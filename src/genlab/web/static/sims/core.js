// Shared page side of the live simulations: the socket, settings <-> URL, controls, events.
import { decodeFrame } from "./frames.js";
import { RecordingSocket, recordingsFor } from "./playback.js";

// ---------------------------------------------------------------- small DOM helpers
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function emit(name, detail) {
  document.dispatchEvent(new CustomEvent(name, { detail }));
}

// ---------------------------------------------------------------- settings in the URL
// Each simulation keeps its settings as `<prefix><name>=value` in the query string.
export function readSettings(prefix, fields) {
  const params = new URLSearchParams(window.location.search);
  const out = {};
  for (const f of fields) {
    const raw = params.get(prefix + f.name);
    out[f.name] = raw === null ? f.value : parseValue(f, raw);
  }
  return out;
}

// a choice among numbers (packing, the left-out digit) holds numbers, not their text
const numeric = (field) => ["int", "float", "range"].includes(field.type)
  || (field.type === "choice" && typeof field.value === "number");

function parseValue(field, raw) {
  if (field.type === "bool") return raw === "1" || raw === "true";
  if (numeric(field)) {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw; // kept as typed: the server explains what is wrong
  }
  return raw;
}

export function writeSettings(prefix, fields, values) {
  const url = new URL(window.location.href);
  for (const f of fields) {
    const v = values[f.name];
    if (v === f.value || v === undefined) url.searchParams.delete(prefix + f.name);
    else url.searchParams.set(prefix + f.name, f.type === "bool" ? (v ? "1" : "0") : String(v));
  }
  window.history.replaceState(window.history.state, "", url);
}

// ---------------------------------------------------------------- controls
// fields: {name, label, type: "choice"|"bool"|"int"|"float"|"range", value, choices, min, max,
// step, help}: the server's field list (genlab/web/simulations/schemas.py field_list, embedded
// in the page), plus a simulation's own page-only controls (clientOnly).
export function buildControls(id, fields, values, onChange) {
  const inputs = {};
  const form = el("form", { class: "sim-controls", onsubmit: (e) => e.preventDefault() });
  for (const f of fields) {
    if (f.hidden) continue;
    const inputId = `${id}-${f.name}`;
    let input;
    if (f.type === "choice") {
      input = el("select", { id: inputId, name: f.name },
        f.choices.map(([v, label]) => el("option", { value: v, text: label })));
    } else if (f.type === "bool") {
      input = el("input", { id: inputId, name: f.name, type: "checkbox" });
    } else if (f.type === "range") {
      input = el("input", { id: inputId, name: f.name, type: "range", min: f.min, max: f.max,
                            step: f.step || 1 });
    } else {
      input = el("input", { id: inputId, name: f.name, type: "number", min: f.min, max: f.max,
                            step: f.step || (f.type === "int" ? 1 : "any"), inputmode: "decimal" });
    }
    inputs[f.name] = input;
    const output = f.type === "range" ? el("output", { for: inputId, class: "sim-range-value" }) : null;
    // a choice with long names takes two columns, so none is cut ("Conditional generation")
    const wide = f.type === "choice" && Math.max(...f.choices.map(([, label]) => String(label).length)) > 14;
    const wrap = el("div", { class: `sim-field sim-field-${f.type}${wide ? " sim-field-wide" : ""}`, "data-field": f.name },
      el("label", { for: inputId, text: f.label, title: f.help || null }), input, output);
    form.append(wrap);
    const handler = () => {
      const v = getValue(f, input);
      if (output) output.textContent = f.format ? f.format(v) : v;
      onChange(f.name, v);
    };
    input.addEventListener(["int", "float", "range"].includes(f.type) ? "change" : "input", handler);
    if (f.type === "range") input.addEventListener("input", () => { output.textContent = input.value; });
  }
  const set = (vals) => {
    for (const f of fields) {
      const input = inputs[f.name];
      if (!input) continue;
      const v = vals[f.name];
      if (f.type === "bool") input.checked = Boolean(v);
      else if (f.type === "choice" && ![...input.options].some((o) => o.value === String(v))) {
        input.append(el("option", { value: String(v), text: `${v} (from link)` }));
        input.value = String(v);
      } else input.value = String(v);
      const out = input.parentElement.querySelector("output");
      if (out) out.textContent = f.format ? f.format(v) : String(v);
    }
  };
  set(values);
  return { form, inputs, set };
}

function getValue(field, input) {
  if (field.type === "bool") return input.checked;
  if (field.type === "choice" && numeric(field)) return Number(input.value);
  if (field.type === "range") return Number(input.value);
  if (field.type === "int") {
    const n = Number(input.value);
    return input.value === "" ? field.value : Number.isInteger(n) ? n : input.value;
  }
  if (field.type === "float") return input.value === "" ? field.value : Number(input.value);
  return input.value;
}

// ---------------------------------------------------------------- the socket
// Opened at the first action that needs the server (play, step...). Messages wait for it.
// The server's first message ("hello") gives the ping interval; "queued" says every slot is
// taken and where the learner is in line (again whenever that changes; the socket stays open
// and pings), "admitted" that its simulation starts; "full" that the line is full too (the
// server then closes); a close without a message first carries its reason.
// Every JSON message also goes to onMessage (watch.js: sharing, viewers, forks). `path`: the
// socket to open instead of /ws/sim/<kind> (watch.js: a viewer's /ws/watch/<id>).
export class SimSocket {
  constructor(kind, { onFrame, onError, onStatus, onClosed, onFull, onQueued, onAdmitted, onMessage }) {
    this.kind = kind;
    this.handlers = { onFrame, onError, onStatus, onClosed, onFull, onQueued, onAdmitted, onMessage };
    this.path = null;
    this.ws = null;
    this.queue = [];
    this.heartbeat = null;
  }

  get open() { return this.ws !== null; }

  connect(first) {
    if (this.ws) return;
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${window.location.host}${this.path || `/ws/sim/${this.kind}`}`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    if (first) this.queue.unshift(first); // the config message: the worker starts with it
    ws.addEventListener("open", () => {
      for (const msg of this.queue) ws.send(JSON.stringify(msg));
      this.queue = [];
    });
    ws.addEventListener("message", (event) => {
      if (typeof event.data === "string") {
        const msg = JSON.parse(event.data);
        if (msg.type === "hello") { this.hello = msg; this.startHeartbeat(msg.heartbeat_seconds); }
        else if (msg.type === "error") this.handlers.onError(msg.message);
        else if (msg.type === "status") this.handlers.onStatus(msg);
        else if (msg.type === "closed") this.handlers.onClosed(msg.reason);
        else if (msg.type === "full" && !msg.watching) { this.drop(); this.handlers.onFull(msg); }
        else if (msg.type === "queued") this.handlers.onQueued(msg);
        else if (msg.type === "admitted") this.handlers.onAdmitted(msg);
        if (this.handlers.onMessage) this.handlers.onMessage(msg);
        return;
      }
      this.handlers.onFrame(decodeFrame(event.data));
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.drop();
      const normal = event.code === 1000 || event.code === 1005;
      this.handlers.onClosed(normal ? null : event.reason ||
        `the connection to the server closed (code ${event.code})`, normal ? null : event.code);
    });
  }

  // a ping while the page is visible, at the interval the server asked for
  startHeartbeat(seconds) {
    clearInterval(this.heartbeat);
    if (!(seconds > 0)) return;
    this.heartbeat = setInterval(() => {
      if (document.visibilityState === "visible") this.send({ type: "ping" });
    }, seconds * 1000);
  }

  // forget the socket (the server closes it, or has closed it)
  drop() {
    this.ws = null;
    this.hello = null; // its upload token (upload.js) went with it
    this.queue = [];
    clearInterval(this.heartbeat);
  }

  send(msg) {
    if (!this.ws) return false;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
    else this.queue.push(msg);
    return true;
  }

  close() {
    if (!this.ws) return;
    const ws = this.ws;
    this.drop();
    ws.close(1000);
  }
}

// 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st
export function ordinal(n) {
  const tens = n % 100, ones = n % 10;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ones === 1 ? "st" : ones === 2 ? "nd" : ones === 3 ? "rd" : "th";
  return `${n}${suffix}`;
}

// waits before the n-th retry when the server is full: 2, 4, 8, 16, then 30 s, ±20 %
export function retryDelay(n) {
  return Math.min(30, 2 ** (n + 1)) * (0.8 + 0.4 * Math.random());
}

// ---------------------------------------------------------------- a simulation's frame
// The common shell: title row, play/pause/step/reset/share buttons, status and error lines.
const NOTICE_MS = 5000; // how long a notice stays, at least

export class SimShell {
  constructor(root, { kind, prefix, fields, title }) {
    this.root = root;
    this.kind = kind;
    this.prefix = prefix;
    this.fields = fields;
    this.values = readSettings(prefix, fields);
    // a CLI-trained run opened as the model (genlab serve --run): an id of the server's list,
    // `<prefix>run` in the URL (runs.js lists them; the server resolves the id, never a path)
    const run = new URLSearchParams(window.location.search).get(prefix + "run");
    this.runId = run !== null && /^[0-9]+$/.test(run) ? Number(run) : null;
    this.fromRun = null;
    this.playing = false;
    this.started = false;
    this.listeners = { frame: [], reply: [], message: [] };
    const handlers = {
      onFrame: (f) => this.handleFrame(f),
      onError: (m) => this.showError(m),
      onStatus: (s) => this.setPlaying(s.playing),
      onClosed: (reason, code) => this.handleClosed(reason, code),
      onFull: (msg) => this.handleFull(msg),
      onQueued: (msg) => this.handleQueued(msg),
      onAdmitted: () => this.handleAdmitted(),
      onMessage: (msg) => { for (const fn of this.listeners.message) fn(msg); },
    };
    // the static site (genlab export-site) plays recorded runs through the same handlers
    this.socket = recordingsFor(kind).length ? new RecordingSocket(kind, handlers)
      : new SimSocket(kind, handlers);
    this.retry = { timer: null, tries: 0, command: null };
    root.classList.add("sim-mounted");
    root.replaceChildren();
    const id = root.id || `sim-${kind}`;
    this.id = id;
    this.controls = buildControls(id, fields, this.values, (name, v) => this.change(name, v));
    this.playButton = el("button", { type: "button", class: "sim-play", "data-action": "play",
                                     onclick: () => this.togglePlay() }, "▶ Play");
    this.stepButton = el("button", { type: "button", "data-action": "step",
                                     onclick: () => this.command({ type: "step", n: 1 }) }, "Step");
    this.resetButton = el("button", { type: "button", "data-action": "reset",
                                      onclick: () => this.command({ type: "reset" }) }, "Reset");
    this.shareButton = el("button", { type: "button", "data-action": "share",
                                      onclick: () => this.share() }, "Copy link");
    this.status = el("span", { class: "sim-status", role: "status", "aria-live": "polite" },
      "Not started — press Play.");
    // transient notices ("Link copied", a recipe applied) live beside the per-frame status
    // line, so frames never overwrite them; each stays at least NOTICE_MS (notify)
    this.notice = el("span", { class: "sim-notice", role: "status", "aria-live": "polite", hidden: true });
    this.noticeTimer = null;
    this.lastStep = null;
    this.error = el("p", { class: "sim-error", role: "alert", hidden: true });
    this.toolbar = el("div", { class: "sim-toolbar" }, this.playButton, this.stepButton,
      this.resetButton, this.shareButton, this.status, this.notice);
    this.runNote = el("p", { class: "sim-run-note", role: "note", hidden: true });
    this.body = el("div", { class: "sim-body" });
    root.append(el("h3", { class: "sim-title", text: title }), this.toolbar, this.runNote,
      this.error, this.body, this.controls.form);
    this.announce();
    if (this.socket.attach) this.socket.attach(this);
  }

  config() {
    const out = {};
    for (const f of this.fields) if (!f.clientOnly) out[f.name] = this.values[f.name];
    return out;
  }

  // the settings, and in teacher mode the link's challenge (challenge.js; the server checks it)
  configMessage() {
    const msg = { type: "config", config: this.config() };
    if (this.challenge) msg.challenge = this.challenge;
    if (this.runId !== null) msg.run = this.runId;
    return msg;
  }

  // open the server's trained run `id` as this lab's model (null: the lab's own model again)
  openRun(id) {
    this.runId = id;
    const url = new URL(window.location.href);
    if (id === null) url.searchParams.delete(this.prefix + "run");
    else url.searchParams.set(this.prefix + "run", String(id));
    window.history.replaceState(window.history.state, "", url);
    this.clearError();
    if (this.socket.open) this.socket.send(this.configMessage());
    else this.ensureStarted();
    if (this.onRun) this.onRun(id);
  }

  // a frame's meta.from_run: the run's settings, read-only; the lab's own settings wait
  showRun(info) {
    const name = info ? info.name : null;
    if (name === (this.fromRun && this.fromRun.name)) return;
    this.fromRun = info;
    for (const [field, input] of Object.entries(this.controls.inputs)) {
      if (field === "speed") continue; // how many steps a picture: the run's copy too
      if (info) { if (!input.disabled) { input.disabled = true; input.dataset.runLocked = "1"; } }
      else if (input.dataset.runLocked) { input.disabled = false; delete input.dataset.runLocked; }
    }
    this.controls.form.classList.toggle("sim-from-run", Boolean(info));
    if (info) this.root.dataset.fromRun = info.name; else delete this.root.dataset.fromRun;
    this.runNote.hidden = !info;
    if (!info) { this.runNote.replaceChildren(); return; }
    const settings = info.settings.map(([k, v]) => `${k} ${v}`).join(", ");
    this.runNote.replaceChildren(
      el("strong", { text: `Trained run ${info.name}` }),
      ` (${info.kind} on ${info.data}, step ${info.step} when opened): ${settings}. `,
      "The settings below are this lab's own: they apply when you go back to its model. ",
      `Play trains a copy of the run in memory; Reset reloads the run; its folder is never written.`);
  }

  announce() {
    writeSettings(this.prefix, this.fields, this.values);
    emit("genlab:model-config", { sim: this.kind, config: this.config() });
  }

  change(name, value) {
    this.values[name] = value;
    this.clearError();
    this.announce();
    const f = this.fields.find((x) => x.name === name);
    if (f && !f.clientOnly && this.socket.open) this.socket.send(this.configMessage());
    if (this.onChange) this.onChange(name, value);
  }

  setValues(values) {
    Object.assign(this.values, values);
    this.controls.set(this.values);
    this.clearError();
    this.announce();
    if (this.socket.open) this.socket.send(this.configMessage());
  }

  ensureStarted() {
    if (!this.socket.open) {
      this.status.textContent = "Starting the simulation in the server…";
      this.socket.connect(this.configMessage());
      if (this.beforeStart) this.beforeStart();
    }
    if (!this.started) {
      this.started = true;
      emit("genlab:sim-started", { sim: this.kind });
    }
  }

  command(msg) {
    this.clearError();
    this.cancelRetry();
    if (!this.socket.open) this.retry.command = msg; // what to ask again if the hub is full
    this.ensureStarted();
    this.socket.send(msg);
    if (msg.type === "step") this.setPlaying(false);
  }

  togglePlay() {
    if (this.playing) { this.command({ type: "pause" }); this.setPlaying(false); }
    else { this.command({ type: "play" }); this.setPlaying(true); }
  }

  // every simulation slot is taken: nothing is wrong here; say so and try again by itself
  handleFull(msg) {
    this.setPlaying(false);
    const seconds = retryDelay(this.retry.tries++);
    const again = this.retry.command || this.configMessage();
    this.root.dataset.full = String(msg.running);
    this.status.textContent = `The hub is busy: ${msg.running} of ${msg.max_sessions} live ` +
      `simulations are running (one per learner). Trying again in ${Math.round(seconds)} s…`;
    clearTimeout(this.retry.timer);
    this.retry.timer = setTimeout(() => {
      this.retry.timer = null;
      this.status.textContent = "Starting the simulation in the server…";
      if (again.type === "play") this.setPlaying(true);
      this.command(again);
    }, seconds * 1000);
  }

  // every slot is taken: the learner waits in line; Play / Pause and settings still apply
  handleQueued(msg) {
    this.cancelRetry();
    this.root.dataset.queued = String(msg.place);
    this.status.textContent = `Waiting for a free slot — you are ${ordinal(msg.place)} in line ` +
      `(${msg.running} of ${msg.max_sessions} live simulations are running). It starts by itself.`;
  }

  handleAdmitted() {
    delete this.root.dataset.queued;
    this.status.textContent = "Starting the simulation in the server…";
  }

  cancelRetry() {
    clearTimeout(this.retry.timer);
    this.retry.timer = null;
    delete this.root.dataset.full;
  }

  setPlaying(playing) {
    this.playing = playing;
    this.playButton.textContent = playing ? "❚❚ Pause" : "▶ Play";
    this.playButton.setAttribute("aria-pressed", playing ? "true" : "false");
    this.root.dataset.playing = playing ? "1" : "0";
    // never "training" beside ▶ Play; the place in line stays until the learner is admitted
    if (this.lastStep !== null && !this.root.dataset.queued) this.renderStatus();
  }

  // the per-frame status line: the step, and whether it trains (with its speed) or waits
  renderStatus() {
    const step = this.lastStep;
    this.status.textContent = this.playing ? `step ${step} — training${this.rate(step)}`
      : `step ${step} — paused`;
  }

  // a transient message, shown for at least `ms` whatever the frames do; a newer one replaces it
  notify(content, ms = NOTICE_MS) {
    this.notice.replaceChildren(...[content].flat());
    this.notice.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => { this.notice.hidden = true; this.notice.replaceChildren(); }, ms);
  }

  share() {
    const url = window.location.href;
    const done = () => this.notify("Link copied: it opens these settings.");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(done, () => this.showLink(url));
    } else this.showLink(url);
  }

  showLink(url) {
    this.notify(["Share this link: ", el("a", { href: url, text: "link to these settings" })], 4 * NOTICE_MS);
  }

  showError(message) {
    if (this.status.textContent.startsWith("Starting")) {
      this.status.textContent = "Not started — fix the setting, then press Play.";
    }
    this.error.textContent = message;
    this.error.hidden = false;
    this.root.dataset.error = "1";
  }

  clearError() {
    this.error.hidden = true;
    this.error.textContent = "";
    delete this.root.dataset.error;
  }

  handleClosed(reason, code = null) {
    delete this.root.dataset.queued;
    this.setPlaying(false);
    this.socket.close();
    this.status.textContent = reason ? `Stopped: ${reason}` : "Stopped.";
    if (code !== null) { // closed by the server without a word first: show why
      this.showError(`The server closed the connection: ${reason}`);
      this.root.dataset.closeCode = String(code);
    }
  }

  handleFrame(frame) {
    this.retry.tries = 0; // started: the next full hub waits from the shortest delay again
    delete this.root.dataset.queued;
    if (frame.kind === 2) { for (const fn of this.listeners.reply) fn(frame); return; }
    if (frame.meta && "from_run" in frame.meta) this.showRun(frame.meta.from_run);
    this.root.dataset.step = String(frame.step);
    this.lastStep = frame.step;
    this.renderStatus();
    for (const fn of this.listeners.frame) fn(frame);
  }

  // training steps per second over the last second or so, as text ("" until known)
  rate(step) {
    const now = performance.now(), r = this._rate;
    if (!r || step < r.step) { this._rate = { t: now, step, text: "" }; return ""; }
    if (now - r.t >= 1000) {
      r.text = `, ${Math.round(((step - r.step) * 1000) / (now - r.t))} steps/s`;
      r.t = now; r.step = step;
    }
    return r.text;
  }

  on(kind, fn) { this.listeners[kind].push(fn); }
}

// ---------------------------------------------------------------- drawing helpers
export function fitCanvas(canvas, cssWidth, cssHeight) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.round(cssWidth * ratio), h = Math.round(cssHeight * ratio);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

// A line chart of named series; `series`: [{values, color, label}]
export function drawChart(canvas, series, { title = "", logY = false, yMin = null, yMax = null } = {}) {
  const rect = canvas.getBoundingClientRect();
  const width = Math.max(rect.width, 50), height = Math.max(rect.height, 50);
  const ctx = fitCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const pad = { l: 44, r: 8, t: 18, b: 16 };
  let lo = Infinity, hi = -Infinity, n = 0;
  for (const s of series) {
    for (const v of s.values) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    n = Math.max(n, s.values.length);
  }
  if (yMin !== null) lo = yMin;
  if (yMax !== null) hi = yMax;
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#444";
  ctx.fillText(title, pad.l, 12);
  if (!Number.isFinite(lo) || n < 2) return;
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  const x = (i) => pad.l + (i / (n - 1)) * (width - pad.l - pad.r);
  const y = (v) => pad.t + (1 - (v - lo) / (hi - lo)) * (height - pad.t - pad.b);
  ctx.strokeStyle = "#ddd";
  ctx.beginPath(); ctx.moveTo(pad.l, pad.t); ctx.lineTo(pad.l, height - pad.b);
  ctx.lineTo(width - pad.r, height - pad.b); ctx.stroke();
  ctx.fillStyle = "#666";
  ctx.fillText(fmt(hi), 2, pad.t + 8);
  ctx.fillText(fmt(lo), 2, height - pad.b);
  let legendX = pad.l + ctx.measureText(title).width + 12;
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const px = x(i), py = y(Math.min(hi, Math.max(lo, v)));
      if (!started) { ctx.moveTo(px, py); started = true; } else ctx.lineTo(px, py);
    });
    ctx.stroke();
    ctx.fillStyle = s.color;
    ctx.fillRect(legendX, 5, 10, 3);
    ctx.fillText(s.label, legendX + 13, 12);
    legendX += ctx.measureText(s.label).width + 26;
  }
}

export function fmt(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return Number(v.toPrecision(digits)).toString();
}

// Gray images (uint8, N×H×W; `channels: 3`: RGB, N×H×W×3) into a canvas as a grid of `cols`
// columns. Grey ones are drawn dark on light (255 − v), as the lesson's digits are.
export function drawImages(canvas, data, n, h, w, cols, { scale = 3, gap = 2, channels = 1 } = {}) {
  const rows = Math.ceil(n / cols);
  const W = cols * (w + gap) - gap, H = rows * (h + gap) - gap;
  canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(W, H);
  img.data.fill(255);
  for (let k = 0; k < n; k++) {
    const r = Math.floor(k / cols), c = k % cols;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      const p = 4 * ((r * (h + gap) + i) * W + c * (w + gap) + j);
      if (channels === 3) {
        const q = 3 * (k * h * w + i * w + j);
        img.data[p] = data[q]; img.data[p + 1] = data[q + 1]; img.data[p + 2] = data[q + 2];
      } else img.data[p] = img.data[p + 1] = img.data[p + 2] = 255 - data[k * h * w + i * w + j];
      img.data[p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  canvas.dataset.scale = String(scale);
}

// A frame's image array ({data, shape: [N, H, W] or [N, H, W, 3]}) as a grid of `cols` columns
// (default: all in one row): whatever size the model's images have.
export function drawStack(canvas, array, cols = null, options = {}) {
  const [n, h, w, channels = 1] = array.shape;
  drawImages(canvas, array.data, n, h, w, cols || n, { ...options, channels });
}
