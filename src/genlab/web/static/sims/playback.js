// Playback of recorded training runs in the static lesson site (`genlab export-site`).
// A RecordingSocket stands in for SimSocket (core.js): the same handlers get the same frames
// (decoded by frames.js from the bytes the server streamed when the run was recorded, see
// genlab/web/recordings.py), so the live view's drawing code draws them. Recordings come from
// <script src="recordings/SIM-NAME.js"> files that push
//   {sim, name, label, preset, config, steps, frames, data: base64(gzip([u32 len, frame]*))}
// onto window.GENLAB_RECORDINGS (no fetch: pages opened from disk may not fetch files).
import { decodeFrame } from "./frames.js";

const FPS = 8; // recorded frames shown per second while playing
export const LIVE_HINT = "Recording of a real training run — run it live: pip install genlab, genlab serve";

export function recordingsFor(kind) {
  const all = window.GENLAB_RECORDINGS;
  return Array.isArray(all) ? all.filter((r) => r.sim === kind) : [];
}

// base64 of gzip -> [ArrayBuffer per frame]
async function unpack(base64) {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const body = await new Response(stream).arrayBuffer();
  const view = new DataView(body), frames = [];
  for (let pos = 0; pos < body.byteLength;) {
    const n = view.getUint32(pos, true);
    frames.push(body.slice(pos + 4, pos + 4 + n)); // own buffer: decodeFrame's views stay aligned
    pos += 4 + n;
  }
  return frames;
}

// every recorded setting equal to the page's value (numbers and their text alike)
function matches(recording, values) {
  const wanted = { ...recording.config };
  if (recording.preset) wanted.preset = recording.preset;
  return Object.entries(wanted).every(([k, v]) => !(k in values) || String(values[k]) === String(v));
}

function node(tag, attrs = {}, text = "") {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text) n.textContent = text;
  return n;
}

export class RecordingSocket {
  constructor(kind, handlers) {
    this.kind = kind;
    this.handlers = handlers;
    this.recordings = recordingsFor(kind);
    this.current = this.recordings[0];
    this.frames = null; // ArrayBuffers of the current recording, once unpacked
    this.loading = null;
    this.position = -1;
    this.epoch = 0; // a new "run" for the page each time playback starts over (curves restart)
    this.timer = null;
    this.connected = false;
    this.shell = null;
  }

  get open() { return this.connected; }

  // the player's own controls, in the simulation's frame (called by SimShell)
  attach(shell) {
    this.shell = shell;
    // a link with a recorded run's settings opens that run
    this.current = this.recordings.find((r) => matches(r, shell.values)) || this.current;
    const id = `${shell.id}-recording`;
    this.picker = node("select", { id, "data-recording-picker": "" });
    for (const r of this.recordings) {
      const o = node("option", { value: r.name }, `${r.label} — ${r.steps.toLocaleString("en")} steps`);
      this.picker.append(o);
    }
    this.picker.value = this.current.name;
    this.picker.addEventListener("change", () => this.choose(this.picker.value));
    this.scrub = node("input", { type: "range", min: "0", max: "0", value: "0", step: "1",
                                 "aria-label": "position in the recording", "data-scrub": "" });
    this.scrub.addEventListener("input", () => {
      shell.ensureStarted();
      this.pause();
      this.seek(Number(this.scrub.value));
    });
    this.where = node("span", { class: "sim-recording-where", "aria-live": "off" }, "");
    const note = node("p", { class: "sim-recording-note" });
    note.append(node("strong", {}, "Recording"), " of a real training run (the frames the hub " +
      "streamed, played back). Run it live: ", node("code", {}, "pip install genlab"), ", then ",
      node("code", {}, "genlab serve"), ". Asking the model itself (decoding a point, " +
      "interpolating, scoring a drawing, generating) needs the live model.");
    const label = node("label", { for: id }, "Run");
    this.bar = node("div", { class: "sim-recording" });
    this.bar.append(note, node("div", { class: "sim-recording-row" }), this.settingsNote());
    this.bar.children[1].append(label, this.picker, this.scrub, this.where);
    shell.root.dataset.recording = "1";
    shell.shareButton.hidden = true;
    shell.status.textContent = "Recording — press Play.";
    shell.toolbar.after(this.bar);
    queueMicrotask(() => { // once the simulation has built its view (after this constructor)
      for (const b of shell.body.querySelectorAll("button[data-action]")) b.disabled = true;
    });
    this.lockControls();
    this.applySettings();
  }

  settingsNote() {
    return node("p", { class: "sim-caption sim-recording-settings" },
      "The settings below are the recorded run's (read-only here).");
  }

  // settings that would change the training are the recording's: shown, not editable
  lockControls() {
    const fields = new Map(this.shell.fields.map((f) => [f.name, f]));
    for (const wrap of this.shell.controls.form.querySelectorAll("[data-field]")) {
      const f = fields.get(wrap.dataset.field);
      const drawingOnly = f && f.clientOnly && f.name !== "preset";
      if (drawingOnly) continue;
      for (const input of wrap.querySelectorAll("input, select")) input.disabled = true;
      wrap.classList.add("sim-field-recorded");
    }
  }

  applySettings() {
    const values = { ...this.current.config };
    if (this.current.preset) values.preset = this.current.preset;
    const known = Object.fromEntries(Object.entries(values)
      .filter(([k]) => this.shell.fields.some((f) => f.name === k)));
    this.shell.setValues(known);
    if (this.shell.onChange) { // the simulation's own view of a settings change (its task...)
      const name = "preset" in known ? "preset" : Object.keys(known)[0];
      this.shell.onChange(name, known[name]);
    }
  }

  async choose(name) {
    const next = this.recordings.find((r) => r.name === name);
    if (!next || next === this.current) return;
    this.pause();
    this.current = next;
    this.frames = null;
    this.loading = null;
    this.applySettings();
    if (this.connected) { await this.load(); this.seek(0); }
  }

  load() {
    if (this.frames) return Promise.resolve(this.frames);
    if (!this.loading) {
      const rec = this.current;
      this.loading = unpack(rec.data).then((frames) => {
        if (this.current === rec) {
          this.frames = frames;
          this.scrub.max = String(frames.length - 1);
        }
        return frames;
      });
    }
    return this.loading;
  }

  connect() {
    if (this.connected) return;
    this.connected = true;
    this.ready = this.load().then(() => { if (this.position < 0) this.seek(0); });
  }

  // frame i, with the frames before it replayed first so that curves show the run up to i
  seek(i) {
    if (!this.frames) { this.load().then(() => this.seek(i)); return; }
    const last = this.frames.length - 1;
    i = Math.max(0, Math.min(last, i));
    const from = i > this.position ? this.position + 1 : 0;
    if (from === 0) this.epoch += 1;
    for (let k = from; k <= i; k++) this.deliver(k);
  }

  deliver(k) {
    const frame = decodeFrame(this.frames[k]);
    frame.meta.run = `recording-${this.epoch}`;
    this.position = k;
    this.handlers.onFrame(frame);
    const last = this.frames.length - 1;
    this.scrub.value = String(k);
    this.where.textContent = `frame ${k + 1} of ${last + 1}`;
    this.step = frame.step;
    if (this.shell) this.shell.root.dataset.frame = String(k);
    this.describe();
  }

  describe() {
    if (!this.shell || this.step === undefined) return;
    this.shell.status.textContent = `Recording: step ${this.step.toLocaleString("en")} of ` +
      `${this.current.steps.toLocaleString("en")}${this.timer ? " — playing" : ""}`;
  }

  play() {
    if (this.timer) return;
    this.ready.then(() => {
      if (this.position >= this.frames.length - 1) this.seek(0); // from the start again
      clearInterval(this.timer);
      this.timer = setInterval(() => {
        if (!this.frames || this.position >= this.frames.length - 1) { this.pause(); return; }
        this.deliver(this.position + 1);
      }, 1000 / FPS);
    });
  }

  pause() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.handlers.onStatus({ playing: false });
    this.describe();
  }

  send(msg) {
    if (!this.connected) return false;
    const t = msg.type;
    if (t === "play") this.play();
    else if (t === "pause") this.pause();
    else if (t === "step") { this.pause(); this.ready.then(() => this.seek(this.position + (msg.n || 1))); }
    else if (t === "reset") { this.pause(); this.ready.then(() => { this.position = -1; this.seek(0); }); }
    else if (t !== "config" && t !== "ping" && t !== "points") {
      // a question for the model itself (decode, interpolate, score, generate)
      this.handlers.onError(`This needs the live model, not a recording: pip install genlab, ` +
        `then genlab serve, to ${t} with it.`);
    }
    return true;
  }

  drop() { this.pause(); }

  close() { this.pause(); }
}
