// Teacher mode, page side: a challenge link's panel (goal, locked controls, live progress,
// pass / not yet) and the builder that turns the current settings into a challenge link.
// The server validates and evaluates the challenge (genlab/web/simulations/challenges.py):
// the page only sends it with the simulation's config message and shows what the frames say.
// The metrics a goal may name, with label, unit and bounds, come from the server too (the
// page's JSON block id="sim-challenges").
import { el, emit, fmt } from "./core.js";

const PARAM = "challenge";
const OPS = [[">=", "≥"], ["<=", "≤"], ["near", "near"]];
const opLabel = (op) => (OPS.find(([o]) => o === op) || [op, op])[1];

function ensureStyles() {
  if (document.querySelector("link[data-challenge-css]")) return;
  const link = el("link", { rel: "stylesheet", href: new URL("./challenge.css", import.meta.url).href });
  link.dataset.challengeCss = "1";
  document.head.append(link);
}

export function challengeData() {
  const node = document.getElementById("sim-challenges");
  try { return node ? JSON.parse(node.textContent) : null; } catch (e) { return null; }
}

// base64url JSON <-> the challenge object (UTF-8 safe)
export function encodeChallenge(spec) {
  const bytes = new TextEncoder().encode(JSON.stringify(spec));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeChallenge(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

// The challenge of this page's link: {spec} | {error} | null (no challenge in the link)
export function linkedChallenge() {
  const raw = new URLSearchParams(window.location.search).get(PARAM);
  if (raw === null) return null;
  try {
    const spec = decodeChallenge(raw);
    if (spec === null || typeof spec !== "object" || Array.isArray(spec)) throw new Error("not an object");
    return { spec };
  } catch (e) {
    return { error: "The challenge in this link cannot be read (it is not base64url JSON): ask for the link again." };
  }
}

// Mount teacher mode on one simulation: its challenge panel if the link holds one for it,
// and the builder in every case.
export function mountChallenge(shell) {
  const data = challengeData();
  if (!data || !data.metrics[shell.kind]) return;
  ensureStyles();
  const linked = linkedChallenge();
  const spec = linked && linked.spec;
  const forThis = spec && (spec.sim === undefined || spec.sim === shell.kind);
  if (linked && linked.error && shellIsTarget(shell)) shell.showError(linked.error);
  if (forThis) showChallenge(shell, spec, data.metrics[shell.kind]);
  shell.root.append(builder(shell, data, forThis ? spec : null));
}

// a link whose challenge cannot be read still names its simulation in its #fragment
function shellIsTarget(shell) {
  return window.location.hash === `#${shell.id}` || !window.location.hash;
}

// ---------------------------------------------------------------- the panel
function showChallenge(shell, spec, metrics) {
  shell.challenge = spec; // core.js sends it with every config message
  const locked = new Set([...(spec.lock || []), ...(spec.hide || [])]);
  const hidden = new Set(spec.hide || []);
  for (const [name, input] of Object.entries(shell.controls.inputs)) {
    if (!locked.has(name)) continue;
    const wrap = input.closest(".sim-field");
    input.disabled = true;
    wrap.classList.add("sim-locked");
    wrap.dataset.locked = hidden.has(name) ? "hidden" : "locked";
    wrap.title = "Locked by the challenge";
    if (hidden.has(name)) wrap.hidden = true;
    else wrap.querySelector("label").append(" ", el("span", { class: "lock-badge", text: "locked" }));
  }
  const preset = shell.controls.inputs.preset; // the playground's presets set locked settings too
  if (preset && locked.size) { preset.disabled = true; preset.closest(".sim-field").classList.add("sim-locked"); }
  const byName = Object.fromEntries(metrics.map((m) => [m.name, m]));
  const goalRows = (spec.goals || []).map((g) => {
    const m = byName[g.metric] || { label: g.metric, unit: "" };
    const target = g.op === "near" ? `within ${fmt(g.tol)} of ${fmt(g.bound)}` : `${opLabel(g.op)} ${fmt(g.bound)}`;
    return el("li", { "data-goal": g.metric, "data-ok": "0" },
      el("span", { class: "goal-mark", text: "…" }), " ",
      el("span", { text: `${m.label} ${target}${m.unit ? ` ${m.unit}` : ""}` }), " — now ",
      el("b", { class: "goal-value", text: "–" }));
  });
  const stepBar = el("progress", { class: "challenge-steps", max: spec.within || 1, value: 0,
                                    "aria-label": "steps used" });
  const holdBar = spec.hold ? el("progress", { class: "challenge-hold", max: spec.hold, value: 0,
                                               "aria-label": "steps held" }) : null;
  const state = el("p", { class: "challenge-state", role: "status", "aria-live": "polite",
                          text: "Not yet — press Play: the server checks the goal on the live training." });
  const lockedNames = [...locked].filter((n) => !hidden.has(n));
  const panel = el("section", { class: "sim-challenge", "data-state": "waiting", "aria-label": "Challenge" },
    el("h4", {}, el("span", { class: "challenge-kicker", text: "Challenge" }), " ", spec.title || ""),
    el("ul", { class: "challenge-goals" }, goalRows),
    el("p", { class: "challenge-meta" },
      `Within ${Number(spec.within).toLocaleString("en")} steps of a run`,
      spec.hold ? `, every goal true for ${Number(spec.hold).toLocaleString("en")} steps in a row` : "",
      lockedNames.length ? `. Locked: ${lockedNames.join(", ")}` : "",
      hidden.size ? `; hidden: ${[...hidden].join(", ")}` : "", ". Reset starts a new try."),
    el("div", { class: "challenge-bars" },
      el("label", {}, "steps ", stepBar, el("span", { class: "challenge-steps-text", text: `0 / ${spec.within}` })),
      holdBar ? el("label", {}, "held ", holdBar, el("span", { class: "challenge-hold-text", text: `0 / ${spec.hold}` })) : null),
    state);
  shell.toolbar.after(panel);
  shell.root.dataset.challenge = "waiting";
  let reported = null;
  shell.on("frame", (f) => {
    const c = f.meta.challenge;
    if (!c) return;
    panel.dataset.state = c.state;
    shell.root.dataset.challenge = c.state;
    c.goals.forEach((g, i) => {
      const row = goalRows[i];
      if (!row) return;
      row.dataset.ok = g.ok ? "1" : "0";
      row.querySelector(".goal-mark").textContent = g.ok ? "✓" : "✗";
      row.querySelector(".goal-value").textContent = fmt(g.value);
    });
    stepBar.value = Math.min(c.step, c.within);
    panel.querySelector(".challenge-steps-text").textContent = `${Math.min(c.step, c.within)} / ${c.within}`;
    if (holdBar) {
      holdBar.value = c.held;
      panel.querySelector(".challenge-hold-text").textContent = `${c.held} / ${c.hold}`;
    }
    if (c.state === "passed") {
      state.textContent = `Passed ✓ at step ${c.passed_at} — kept in this browser beside your quiz progress.`;
      if (reported !== c.id) {
        reported = c.id;
        emit("genlab:challenge-passed", { id: c.id, title: spec.title, sim: shell.kind, step: c.passed_at });
      }
    } else if (c.state === "over") {
      state.textContent = `Not yet: the ${c.within} steps are used up. Change what is not locked, then Reset to try again.`;
    } else {
      state.textContent = "Not yet — training; the server checks every frame.";
    }
  });
}

// ---------------------------------------------------------------- the builder
function builder(shell, data, current) {
  const metrics = data.metrics[shell.kind];
  // every control has an id and its own <label for> (hidden where the row says it already)
  let n = 0;
  const named = (text, control, hidden = false) => {
    control.id = `${shell.id}-challenge-${++n}`;
    return [el("label", { for: control.id, class: hidden ? "visually-hidden" : null, text }), control];
  };
  const serverFields = shell.fields.filter((f) => !f.clientOnly);
  const lockOf = (name) => (current && (current.hide || []).includes(name) ? "hide"
    : current && (current.lock || []).includes(name) ? "lock" : "free");
  const lockSelects = serverFields.map((f) => el("div", { class: "builder-lock" }, named(f.label,
    el("select", { "data-lock": f.name },
      [["free", "free"], ["lock", "locked"], ["hide", "hidden"]].map(([v, t]) =>
        el("option", { value: v, text: t, selected: lockOf(f.name) === v }))))));
  const goalRow = (g, i) => el("div", { class: "builder-goal" },
    named(`goal ${i + 1}: metric`, el("select", { "data-goal-metric": "1" },
      el("option", { value: "", text: "— no goal —" }),
      metrics.map((m) => el("option", { value: m.name, selected: g && g.metric === m.name,
                                        text: `${m.label}${m.unit ? ` (${m.unit})` : ""}` }))), true),
    named(`goal ${i + 1}: comparison`, el("select", { "data-goal-op": "1" },
      OPS.map(([v, t]) => el("option", { value: v, text: t, selected: g && g.op === v }))), true),
    named(`goal ${i + 1}: bound`, el("input", { type: "number", step: "any", "data-goal-bound": "1",
                                                value: g ? g.bound : "" }), true),
    named(`goal ${i + 1}: tolerance (near)`, el("input", { type: "number", step: "any", min: 0,
      "data-goal-tol": "1", placeholder: "± (near)", value: g && g.tol ? g.tol : "" }), true));
  const goals = [0, 1, 2, 3].slice(0, data.max_goals).map((i) => goalRow(current && current.goals ? current.goals[i] : null, i));
  const title = el("input", { type: "text", "data-builder": "title", maxlength: 240,
                              value: current ? current.title : "", placeholder: "what the learner should do" });
  const within = el("input", { type: "number", min: 1, max: data.max_steps, step: 1, "data-builder": "within",
                               value: current ? current.within : 2000 });
  const hold = el("input", { type: "number", min: 0, max: data.max_steps, step: 1, "data-builder": "hold",
                             value: current ? current.hold || 0 : 0 });
  const out = el("p", { class: "builder-out", role: "status", "aria-live": "polite" });
  const make = () => {
    const spec = { title: title.value.trim(), sim: shell.kind, goals: [],
                   within: Number(within.value), hold: Number(hold.value) || 0, lock: [], hide: [] };
    for (const row of goals) {
      const metric = row.querySelector("[data-goal-metric]").value;
      if (!metric) continue;
      const goal = { metric, op: row.querySelector("[data-goal-op]").value,
                     bound: Number(row.querySelector("[data-goal-bound]").value) };
      const tol = row.querySelector("[data-goal-tol]").value;
      if (goal.op === "near") goal.tol = Number(tol);
      spec.goals.push(goal);
    }
    for (const select of lockSelects.map((l) => l.querySelector("select"))) {
      if (select.value !== "free") spec[select.value].push(select.dataset.lock);
    }
    if (!spec.hide.length) delete spec.hide;
    if (!spec.hold) delete spec.hold;
    const url = new URL(window.location.href);
    url.searchParams.set(PARAM, encodeChallenge(spec));
    url.hash = shell.id;
    return url.href;
  };
  const copy = () => {
    const href = make();
    const link = el("a", { href, "data-challenge-link": "1", text: "the challenge link" });
    const said = (text) => out.replaceChildren(text, link, " (the server checks it when it is opened).");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(href).then(() => said("Copied: "), () => said("Copy "));
    } else said("Copy ");
  };
  return el("details", { class: "sim-builder" },
    el("summary", { text: "Teacher: make a challenge from these settings" }),
    el("p", { class: "small", text: "The link keeps the settings above; choose which the learner may not change, and the goal the server checks on the live metrics." }),
    el("div", { class: "builder-title" }, named("Challenge", title)),
    el("fieldset", { class: "builder-goals" }, el("legend", { text: "Goals (all at once)" }), goals),
    el("div", { class: "builder-steps" },
      el("span", {}, named("within (steps)", within)), el("span", {}, named("held for (steps)", hold))),
    el("fieldset", { class: "builder-locks" }, el("legend", { text: "Controls" }), lockSelects),
    el("button", { type: "button", "data-action": "copy-challenge", onclick: copy }, "Copy challenge link"),
    out);
}
