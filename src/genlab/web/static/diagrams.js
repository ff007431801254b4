// Architecture diagrams: every <figure class="arch" data-arch="SIM"> shows the layers of the real
// model, as traced by the server (GET /api/architecture). Drawn at page load with the default
// settings, then again whenever a simulation announces new settings with
//   document.dispatchEvent(new CustomEvent("genlab:model-config", {detail: {sim, config}}))

const DEBOUNCE_MS = 250;
const pending = new Map(); // sim -> timer
const latest = new Map(); // sim -> request counter (drop stale answers)

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const fmtShape = (s) => (s.length ? s.join("×") : "scalar");
const numel = (s) => s.reduce((a, b) => a * b, 1);
const fmtParams = (n) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);

function render(figure, data) {
  const body = figure.querySelector(".arch-body");
  const maxLog = Math.max(
    1,
    ...data.blocks.flatMap((b) => b.layers.map((l) => Math.log2(1 + numel(l.shape))))
  );
  const head = el(
    "div",
    { class: "arch-head" },
    el("h4", {}, data.title),
    el(
      "p",
      { class: "small" },
      `genlab.models.${data.model} · ${fmtParams(data.params_total)} parameters · input ${fmtShape(data.data_shape)}`
    )
  );
  const flow = el("div", { class: "arch-flow" });
  data.blocks.forEach((block, i) => {
    if (i > 0) flow.append(el("span", { class: "arch-arrow", "aria-hidden": "true" }, "→"));
    const list = el("ol", { class: "arch-layers" });
    const inputLabel = block.input_label ? `input ${block.input_label}` : "input";
    list.append(rowFor(inputLabel, fmtShape(block.input_shape), block.input_shape, maxLog, "input"));
    for (const layer of block.layers) {
      const label = [layer.type, ...layer.folded].join(" · ");
      const title = `${layer.names.join(", ")}: ${layer.params} parameters`;
      list.append(rowFor(label, fmtShape(layer.shape), layer.shape, maxLog, title));
    }
    const sub = block.params ? ` · ${fmtParams(block.params)} params` : "";
    flow.append(
      el(
        "section",
        { class: "arch-block", "data-role": block.role, "aria-label": block.title },
        el("h5", {}, block.title, el("span", { class: "small" }, ` ${block.subtitle}${sub}`)),
        list
      )
    );
  });
  body.replaceChildren(head, flow);
  figure.dataset.params = String(data.params_total);
}

function rowFor(label, shapeText, shape, maxLog, title) {
  const bar = el("span", { class: "bar", "aria-hidden": "true" });
  bar.style.width = `${Math.max(4, (100 * Math.log2(1 + numel(shape))) / maxLog)}%`;
  return el(
    "li",
    { title },
    el("span", { class: "ltype" }, label),
    el("span", { class: "lshape" }, shapeText),
    bar
  );
}

function status(figure, text, isError) {
  const body = figure.querySelector(".arch-body");
  let p = body.querySelector(".arch-status");
  if (!p) {
    p = el("p", { class: "arch-status" });
    body.prepend(p);
  }
  p.textContent = text;
  p.classList.toggle("error", Boolean(isError));
}

let schema = null; // sim -> the server's field list (genlab/web/simulations/schemas.py)

const quoted = (values) => values.map((v) => `'${v}'`);
const oneOf = (values) => (values.length > 1
  ? `${quoted(values.slice(0, -1)).join(", ")} or ${quoted(values.slice(-1))}` : quoted(values)[0]);

// The server's check (schemas.parse_config, which /api/architecture also runs) in its words, so
// that a value out of range is explained here, without a refused request in the console.
function problem(sim, config) {
  for (const f of (schema && schema[sim]) || []) {
    const raw = config[f.name];
    if (raw === undefined || raw === null || raw === "") continue;
    const text = String(raw).trim();
    const got = `(got '${text.slice(0, 40)}')`;
    if (f.type === "bool") {
      if (!["true", "false", "1", "0", "on", "off"].includes(text.toLowerCase())) {
        return `${f.name} must be true or false ${got}`;
      }
      continue;
    }
    if (f.kind === "str") {
      const values = f.choices.map(([v]) => v);
      if (!values.includes(text)) return `${f.name} must be one of ${oneOf(values)} ${got}`;
      continue;
    }
    const integer = f.kind === "int";
    if (integer && !/^[+-]?\d+$/.test(text)) return `${f.name} must be an integer ${got}`;
    const v = Number(text);
    if (!integer && (text === "" || !Number.isFinite(v))) return `${f.name} must be a number ${got}`;
    if (f.min !== undefined && (f.min_exclusive ? v <= f.min : v < f.min)) {
      return `${f.name} must be ${f.min_exclusive ? ">" : "≥"} ${f.min} (got ${v})`;
    }
    if (f.max !== undefined && (f.max_exclusive ? v >= f.max : v > f.max)) {
      return `${f.name} must be ${f.max_exclusive ? "<" : "≤"} ${f.max} (got ${v})`;
    }
  }
  return null;
}

// The field lists: embedded in the page (static/sims/index.js reads the same block), else asked.
async function loadSchema() {
  const node = document.getElementById("sim-settings");
  if (node) return JSON.parse(node.textContent);
  const response = await fetch("/api/architecture/settings");
  return response.ok ? response.json() : null;
}

// sim + the settings that shape its model (in field order, defaults filled in): the key of
// a diagram in the static site (genlab/web/site_export.py writes the same)
export function archKey(sim, config) {
  const shaping = ((schema && schema[sim]) || []).filter((f) => f.shapes_model)
    .map((f) => (config[f.name] === undefined ? f.value : config[f.name]));
  return `${sim}:${JSON.stringify(shaping)}`;
}

async function load(sim, config) {
  const figure = document.querySelector(`figure.arch[data-arch="${CSS.escape(sim)}"]`);
  if (!figure) return;
  const wrong = problem(sim, config || {});
  if (wrong) {
    latest.set(sim, (latest.get(sim) || 0) + 1); // an answer still on its way is now stale
    status(figure, `Cannot draw this model: ${wrong}`, true);
    return;
  }
  const query = new URLSearchParams({ sim });
  for (const [k, v] of Object.entries(config || {})) {
    if (v === null || v === undefined || typeof v === "object") continue;
    query.set(k, String(v));
  }
  const site = window.GENLAB_SITE; // the static site: the diagrams traced when it was exported
  if (site && site.architecture) {
    const data = site.architecture[archKey(sim, config || {})];
    if (data) render(figure, data);
    else status(figure, "This copy of the lesson has the diagrams of the recorded settings only.", true);
    return;
  }
  const ticket = (latest.get(sim) || 0) + 1;
  latest.set(sim, ticket);
  figure.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(`/api/architecture?${query}`);
    const data = await response.json();
    if (latest.get(sim) !== ticket) return;
    if (!response.ok) {
      status(figure, `Cannot draw this model: ${data.detail || response.statusText}`, true);
      return;
    }
    render(figure, data);
    figure.dataset.query = query.toString();
  } catch (err) {
    if (latest.get(sim) === ticket) status(figure, `Cannot draw this model: ${err.message}`, true);
  } finally {
    if (latest.get(sim) === ticket) figure.removeAttribute("aria-busy");
  }
}

export async function initDiagrams() {
  const configured = new Set(); // sims that announced settings: no default drawing for them
  document.addEventListener("genlab:model-config", (event) => {
    const { sim, config } = event.detail || {};
    if (!sim || !document.querySelector(`figure.arch[data-arch="${CSS.escape(sim)}"]`)) return;
    configured.add(sim);
    clearTimeout(pending.get(sim));
    pending.set(sim, setTimeout(() => load(sim, config), DEBOUNCE_MS));
  });
  try {
    schema = await loadSchema();
  } catch (_) {
    /* without the bounds, the server still checks every request */
  }
  for (const figure of document.querySelectorAll("figure.arch[data-arch]")) {
    if (!configured.has(figure.dataset.arch)) load(figure.dataset.arch, {});
  }
}
