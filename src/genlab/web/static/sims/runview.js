// The runs page (genlab serve --run/--runs; server: genlab/web/runs_browser.py): a list of
// the runs under a folder, and each run in the view of the lab that fits it — the VAE lab's
// latent explorer, the GAN playground's map, the DCGAN lab's samples. Drawing only.
import { el, fitCanvas } from "./core.js";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf"];

async function json(url, body) {
  const r = await fetch(url, body ? { method: "POST", headers: { "content-type": "application/json" },
                                      body: JSON.stringify(body) } : { cache: "no-store" });
  const data = await r.json();
  if (!r.ok) throw new Error(data.detail || `${r.status}`);
  return data;
}

// images {shape: [N, C, H, W], data: uint8} as a grid of `cols` columns
function drawImages(canvas, images, cols) {
  const [n, c, h, w] = images.shape, gap = 2, rows = Math.ceil(n / cols);
  const W = cols * (w + gap) - gap, H = rows * (h + gap) - gap;
  canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(W, H);
  img.data.fill(255);
  for (let k = 0; k < n; k++) {
    const r = Math.floor(k / cols), q = k % cols;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      const p = 4 * ((r * (h + gap) + i) * W + q * (w + gap) + j);
      for (let ch = 0; ch < 3; ch++) {
        const v = images.data[((k * c + Math.min(ch, c - 1)) * h + i) * w + j];
        img.data[p + ch] = c === 1 ? 255 - v : v;
      }
      img.data[p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

function legend() {
  return el("p", { class: "sim-legend" }, COLORS.map((color, d) => {
    const key = el("span", { class: "sim-key" });
    key.style.background = color; // CSSOM, not an inline style attribute (the CSP)
    return el("span", { class: "runs-key" }, key, ` ${d} `);
  }));
}

function mapCanvas(label) {
  return el("canvas", { class: "sim-canvas sim-square runs-map", role: "img", "aria-label": label });
}

function toPixel(view, size) {
  const [x0, x1, y0, y1] = view;
  return ([x, y]) => [((x - x0) / (x1 - x0)) * size, ((y1 - y) / (y1 - y0)) * size];
}

function vaeView(root, run, setError) {
  const map = mapCanvas("test codes in the latent space; click to decode");
  const decoded = el("canvas", { class: "sim-images runs-decoded", "data-view": "decoded" });
  const strip = el("canvas", { class: "sim-images runs-strip", "data-view": "path" });
  const from = el("input", { type: "number", min: 0, value: 0, name: "from" });
  const to = el("input", { type: "number", min: 0, value: 1, name: "to" });
  const proj = run.projection
    ? `${run.latent_dim} latent dimensions: the map is the PCA plane of the codes (${Math.round(100 * run.projection.explained)} % of their variance); a click decodes the point of that plane.`
    : "The map is the latent space itself: a click decodes that z.";
  root.append(el("div", { class: "sim-body" },
    el("div", { class: "sim-main" }, map, run.labels ? legend() : null,
      el("p", { class: "sim-hint", text: proj })),
    el("div", { class: "sim-side" }, el("p", { class: "sim-note", text: "decoded:" }), decoded,
      el("div", { class: "runs-interp" }, el("label", {}, "from #", from), el("label", {}, "to #", to),
        el("button", { type: "button", "data-action": "interpolate", onclick: async () => {
          try {
            const r = await json(`/api/runs/${run.id}/interpolate`, { a: Number(from.value), b: Number(to.value), steps: 10 });
            drawImages(strip, r.images, 10); root.dataset.interpolated = "1";
          } catch (e) { setError(e.message); }
        } }, "Interpolate")), strip)));
  const size = map.getBoundingClientRect().width || 400;
  const ctx = fitCanvas(map, size, size), px = toPixel(run.view, size);
  run.codes.forEach((c, i) => {
    const [x, y] = px(c);
    ctx.fillStyle = COLORS[(run.labels ? run.labels[i] : 0) % 10];
    ctx.globalAlpha = 0.7;
    ctx.beginPath(); ctx.arc(x, y, 2.5, 0, 2 * Math.PI); ctx.fill();
  });
  map.addEventListener("click", async (event) => {
    const rect = map.getBoundingClientRect(), [x0, x1, y0, y1] = run.view;
    const u = x0 + ((event.clientX - rect.left) / rect.width) * (x1 - x0);
    const v = y1 - ((event.clientY - rect.top) / rect.height) * (y1 - y0);
    try {
      const r = await json(`/api/runs/${run.id}/decode`, { z: run.projection || run.latent_dim === 2 ? [u, v] : [u, v] });
      drawImages(decoded, r.image, 1); root.dataset.decoded = "1";
    } catch (e) { setError(e.message); }
  });
  root.dataset.drawn = String(run.codes.length);
}

function ganView(root, run) {
  const map = mapCanvas("real and generated points over the discriminator's logits");
  root.append(el("div", { class: "sim-body" }, el("div", { class: "sim-main" }, map,
    el("p", { class: "sim-legend", text: "grey: real points · pink: generated · orange ↔ blue: D says real ↔ fake" }))));
  const size = map.getBoundingClientRect().width || 400;
  const ctx = fitCanvas(map, size, size), px = toPixel(run.view, size), cell = size / run.grid;
  const flat = run.heat.flat(), mean = flat.reduce((a, b) => a + b, 0) / flat.length;
  const scale = Math.max(...flat.map((v) => Math.abs(v - (run.centered ? mean : 0)))) || 1;
  run.heat.forEach((row, i) => row.forEach((v, j) => {
    const t = (v - (run.centered ? mean : 0)) / scale; // > 0: "real"
    ctx.fillStyle = t > 0 ? `rgba(255,152,0,${0.6 * t})` : `rgba(30,136,229,${-0.6 * t})`;
    ctx.fillRect(j * cell, i * cell, cell + 0.5, cell + 0.5);
  }));
  const dots = (points, color) => { ctx.fillStyle = color; for (const p of points || []) { const [x, y] = px(p); ctx.fillRect(x - 1.5, y - 1.5, 3, 3); } };
  dots(run.real, "rgba(40,40,40,0.45)");
  dots(run.fake, "rgba(216,27,96,0.8)");
  root.dataset.drawn = String(run.fake.length);
}

function dcganView(root, run, setError) {
  const grid = el("canvas", { class: "sim-images runs-samples", "data-view": "samples" });
  const strip = el("canvas", { class: "sim-images runs-strip", "data-view": "path" });
  const seed = el("input", { type: "number", min: 0, value: 0, name: "seed" });
  root.append(el("div", { class: "sim-body" }, el("div", { class: "sim-main" }, grid,
    el("p", { class: "sim-note", text: "16 samples G(z), z ~ N(0, I) (seed 0)." })),
    el("div", { class: "sim-side" }, el("div", { class: "runs-interp" }, el("label", {}, "seed ", seed),
      el("button", { type: "button", "data-action": "interpolate", onclick: async () => {
        try {
          const r = await json(`/api/runs/${run.id}/interpolate`, { a: Number(seed.value), b: 0, steps: 10 });
          drawImages(strip, r.images, 10); root.dataset.interpolated = "1";
        } catch (e) { setError(e.message); }
      } }, "Interpolate")), strip)));
  drawImages(grid, run.samples, 4);
  root.dataset.drawn = String(run.samples.shape[0]);
}

// "continue training": the server resumes a copy of the run (never the run itself)
function continueControl(box, run, setError) {
  const steps = el("input", { type: "number", min: 1, max: 5000, value: 200, name: "steps" });
  const status = el("span", { class: "sim-status", role: "status" });
  const button = el("button", { type: "button", "data-action": "continue", onclick: async () => {
    button.disabled = true; status.textContent = "training a copy…";
    try {
      const r = await json(`/api/runs/${run.id}/continue`, { steps: Number(steps.value) });
      await refreshList(box);
      history.replaceState(null, "", `?run=${r.id}`);
      open(box, r.id);
    } catch (e) { setError(e.message); status.textContent = ""; button.disabled = false; }
  } }, "Continue training");
  return el("div", { class: "runs-continue" }, el("label", {}, "more steps ", steps), button, status,
    el("p", { class: "sim-hint", text: "Trains a copy in the hub's temporary folder (removed when the hub stops); this run's folder is never written." }));
}

let refreshList = async () => {};

const LABS = { vae: ["VAE lab — latent explorer", vaeView], gan2d: ["GAN playground", ganView],
               dcgan: ["DCGAN lab — samples", dcganView] };

async function open(box, id) {
  const error = el("p", { class: "sim-error", role: "alert", hidden: true });
  const setError = (m) => { error.textContent = m; error.hidden = false; };
  box.replaceChildren(el("p", { text: "Loading the run…" }));
  try {
    const run = await json(`/api/runs/${id}/view`);
    const [title, draw] = LABS[run.lab];
    const root = el("div", { class: "sim sim-mounted runs-view", "data-lab": run.lab, "data-run": String(id) });
    root.append(el("h3", { class: "sim-title", text: `${title}: ${run.name}` }),
      el("p", { class: "sim-note", text: `${run.kind} on ${run.data}, step ${run.step}, latent dim ${run.latent_dim} (read-only)` }), error);
    box.replaceChildren(root);
    draw(root, run, setError);
    if (!run.export) root.append(continueControl(box, run, setError)); // an export: weights only
  } catch (e) { box.replaceChildren(el("p", { class: "sim-error", text: `Cannot open run ${id}: ${e.message}` })); }
}

async function main() {
  const node = document.getElementById("runs");
  const list = el("ul", { class: "runs-list" }), box = el("div", { class: "runs-box" });
  node.append(list, box);
  refreshList = async () => {
    const data = await json("/api/runs");
    list.replaceChildren();
    for (const r of data.runs) {
      list.append(el("li", {}, el("button", { type: "button", "data-run": String(r.id), disabled: Boolean(r.error),
        onclick: () => { history.replaceState(null, "", `?run=${r.id}`); open(box, r.id); } }, r.name),
        ` ${r.error || `${r.kind} on ${r.data}, step ${r.step} → ${LABS[r.lab][0]}`}`));
    }
    if (data.truncated) list.append(el("li", { text: `(the first ${data.max_runs} runs only)` }));
  };
  await refreshList();
  const wanted = new URLSearchParams(location.search).get("run");
  if (wanted !== null) open(box, Number(wanted));
}

main();
