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
    list.append(rowFor("input", fmtShape(block.input_shape), block.input_shape, maxLog, "input"));
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

async function load(sim, config) {
  const figure = document.querySelector(`figure.arch[data-arch="${CSS.escape(sim)}"]`);
  if (!figure) return;
  const query = new URLSearchParams({ sim });
  for (const [k, v] of Object.entries(config || {})) {
    if (v === null || v === undefined || typeof v === "object") continue;
    query.set(k, String(v));
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

export function initDiagrams() {
  for (const figure of document.querySelectorAll("figure.arch[data-arch]")) {
    load(figure.dataset.arch, {});
  }
  document.addEventListener("genlab:model-config", (event) => {
    const { sim, config } = event.detail || {};
    if (!sim || !document.querySelector(`figure.arch[data-arch="${CSS.escape(sim)}"]`)) return;
    clearTimeout(pending.get(sim));
    pending.set(sim, setTimeout(() => load(sim, config), DEBOUNCE_MS));
  });
}
