// GAN playground: a real 2D GAN training in the server (genlab/web/simulations/gan2d.py).
import { SimShell, el, drawChart, fitCanvas, fmt } from "./core.js";
import { mountUpload } from "./upload.js";

const DRAWN_VIEW = [-1, 1, -1, 1];
const MAX_POINTS = 2000;
const HISTORY = 600;
// Drawn points live in the link as `g_points`: each point snapped to a 256 × 256 grid over the
// canvas, two bytes (x, y), base64url — 2,000 points make 5,334 characters.
const LEVELS = 255;
const snap = (v) => Math.min(LEVELS, Math.max(0, Math.round(((v + 1) / 2) * LEVELS)));
const unsnap = (q) => Math.round((-1 + (2 * q) / LEVELS) * 1e4) / 1e4;

export function encodePoints(points) {
  let bin = "";
  for (const [x, y] of points) bin += String.fromCharCode(snap(x), snap(y));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodePoints(text) {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const out = [];
    for (let i = 0; i + 1 < bin.length && out.length < MAX_POINTS; i += 2) {
      out.push([unsnap(bin.charCodeAt(i)), unsnap(bin.charCodeAt(i + 1))]);
    }
    return out;
  } catch (e) {
    return null; // not base64url: the page says so
  }
}

function savePoints(points) {
  const url = new URL(window.location.href);
  if (points.length) url.searchParams.set("g_points", encodePoints(points));
  else url.searchParams.delete("g_points");
  window.history.replaceState(window.history.state, "", url);
}

// The page-only controls around the server's settings (`serverFields`: schemas.py GanConfig).
// presets: {name: {label, values}}, from the server (genlab/web/simulations/schemas.py)
const fields = (serverFields, presets) => [
  { name: "preset", label: "Preset", type: "choice", value: "custom", clientOnly: true,
    choices: [["custom", "Custom settings"], ...Object.entries(presets).map(([k, p]) => [k, p.label])] },
  ...serverFields,
  { name: "show_heat", label: "Show D heat map", type: "bool", value: true, clientOnly: true },
  { name: "show_arrows", label: "Show G's gradient", type: "bool", value: true, clientOnly: true },
];

export function mount(root, serverFields) {
  let PRESETS = {};
  try { PRESETS = JSON.parse(root.dataset.presets || "{}"); } catch (e) { PRESETS = {}; }
  const shell = new SimShell(root, { kind: "gan2d", prefix: "g_", fields: fields(serverFields, PRESETS),
                                     title: "GAN playground — 2D data" });
  // the canvas takes drawn points: the lab's own model on drawn data (not an open trained run)
  const drawnData = () => shell.values.data === "drawn" && !shell.fromRun;
  const linked = PRESETS[shell.values.preset];
  if (linked) { // a link naming only a preset opens that preset (explicit settings still win)
    const params = new URLSearchParams(window.location.search);
    shell.setValues(Object.fromEntries(Object.entries(linked.values)
      .filter(([k]) => !params.has(`g_${k}`))));
  }
  const canvas = el("canvas", { class: "sim-canvas sim-square", "aria-label": "real points (dark), generated points (pink), the discriminator's value as background colour, and the generator's gradient as arrows", role: "img", tabindex: "0" });
  const metric = (name, label) => el("div", { class: "sim-metric" },
    el("span", { class: "sim-metric-label", text: label }),
    el("span", { class: "sim-metric-value", "data-metric": name, text: "–" }));
  const metrics = el("div", { class: "sim-metrics" },
    metric("modes", "Modes covered"), metric("hq", "High quality"), metric("kl", "Reverse KL"),
    metric("loss_d", "D loss"), metric("loss_g", "G loss"));
  const lossChart = el("canvas", { class: "sim-chart", role: "img", "aria-label": "loss curves" });
  const coverChart = el("canvas", { class: "sim-chart", role: "img", "aria-label": "modes covered over time" });
  const legend = el("p", { class: "sim-legend" },
    el("span", { class: "sim-key sim-key-real" }), " real  ",
    el("span", { class: "sim-key sim-key-fake" }), " generated  ",
    el("span", { class: "sim-key sim-key-heat" }), " D: “real” ↔ “fake”   ",
    el("span", { class: "sim-nowrap", text: "→ arrows: −∇ of G's loss" }));
  const pointCount = el("span", { "data-points": "0", text: "0 points" });
  const drawHint = el("p", { class: "sim-hint", hidden: true },
    "Draw on the canvas with the mouse or a finger: your points are blue (up to 2000; the link keeps them, " +
    "snapped to a 256 × 256 grid). ", pointCount, " ",
    el("button", { type: "button", "data-action": "clear-points",
                   onclick: () => { points = []; sendPoints(); redraw(); } }, "Clear drawing"));
  const main = el("div", { class: "sim-main" }, canvas, legend, drawHint);
  main.append(mountUpload(shell, { label: "⇪ Load a CSV of points", accept: ".csv,.txt,text/csv",
    dropTarget: main, onLoaded: () => {
      if (shell.values.data !== "uploaded") { shell.setValues({ data: "uploaded" }); shell.onChange("data", "uploaded"); }
    } }));
  shell.body.append(main,
    el("div", { class: "sim-side" }, metrics,
      el("p", { class: "sim-note", text: "Modes, high quality and reverse KL: the PacGAN " +
        "protocol on 2,500 samples, measured up to 5 times a second while training." }),
      lossChart, coverChart));

  let frame = null, pending = false, points = [];
  const linkedPoints = new URLSearchParams(window.location.search).get("g_points");
  if (linkedPoints !== null) {
    points = decodePoints(linkedPoints) || [];
    if (!points.length) shell.showError("The link's drawn points (g_points) could not be read.");
  }
  const history = { d: [], g: [], modes: [], run: null };
  const preset = shell.controls.inputs.preset;

  shell.onChange = (name, value) => {
    if (name === "preset" && PRESETS[value]) shell.setValues(PRESETS[value].values);
    else if (name !== "preset" && name !== "show_heat" && name !== "show_arrows" && name !== "speed"
             && shell.values.preset !== "custom") {
      shell.values.preset = "custom"; preset.value = "custom"; shell.announce();
    }
    applyRecipe(name, value);
    drawHint.hidden = !drawnData();
    canvas.classList.toggle("sim-capture", drawnData()); // touch draws
    redraw();
  };
  // A choice with its own recipe (the server's `recipes`: a loss's paper trains D several times
  // per G step) brings it along, for the settings still at their defaults (still editable).
  function applyRecipe(name, value) {
    const field = shell.fields.find((f) => f.name === name);
    const recipe = field && field.recipes && field.recipes[value];
    if (!recipe) return;
    const fresh = Object.fromEntries(Object.entries(recipe).filter(([k]) => {
      const f = shell.fields.find((x) => x.name === k);
      return f && shell.values[k] === f.value;
    }));
    if (!Object.keys(fresh).length) return;
    shell.setValues(fresh);
    const label = (k) => shell.fields.find((f) => f.name === k).label;
    const choice = field.choices.find(([v]) => v === value);
    shell.notify(Object.entries(fresh).map(([k, v]) => `${label(k)} set to ${v}`)
      .join(", ") + `, ${choice ? choice[1] : value}'s recipe.`);
  }
  drawHint.hidden = !drawnData();
    canvas.classList.toggle("sim-capture", drawnData()); // touch draws
  shell.beforeStart = () => { if (points.length) shell.socket.send({ type: "points", points }); };

  shell.on("frame", (f) => {
    frame = f;
    const m = f.meta;
    if (history.run !== m.run) { history.d = []; history.g = []; history.modes = []; history.run = m.run; }
    push(history.d, m.loss_d); push(history.g, m.loss_g);
    if (m.modes !== undefined) push(history.modes, m.modes);
    set("modes", m.modes === undefined ? "n/a" : `${m.modes} / ${m.num_modes}`);
    set("hq", m.hq === undefined ? "n/a" : `${fmt(m.hq, 3)} %`);
    set("kl", m.kl === undefined ? "n/a" : fmt(m.kl));
    set("loss_d", fmt(m.loss_d)); set("loss_g", fmt(m.loss_g));
    if (f.arrays.real) { // the real data's box, for whoever checks what the scatter shows
      const r = f.arrays.real.data, lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
      for (let i = 0; i < r.length; i++) { lo[i % 2] = Math.min(lo[i % 2], r[i]); hi[i % 2] = Math.max(hi[i % 2], r[i]); }
      canvas.dataset.real = `${r.length / 2}:${lo[0]},${hi[0]},${lo[1]},${hi[1]}`;
    }
    if (m.diverged) shell.showError("Training diverged (non-finite values): lower the learning rates or press Reset.");
    redraw();
  });

  function showCount() {
    pointCount.textContent = `${points.length} point${points.length === 1 ? "" : "s"}`;
    pointCount.dataset.points = String(points.length);
  }

  function set(name, text) { metrics.querySelector(`[data-metric="${name}"]`).textContent = text; }
  function push(arr, v) { arr.push(v === null || v === undefined ? NaN : v); if (arr.length > HISTORY) arr.shift(); }

  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paint(); });
  }

  function viewBox() {
    if (drawnData()) return DRAWN_VIEW;
    return frame ? frame.meta.view : null;
  }

  function paint() {
    const size = canvas.getBoundingClientRect().width || 400;
    const ctx = fitCanvas(canvas, size, size);
    ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, size, size);
    const view = viewBox();
    drawChart(lossChart, [{ values: history.d, color: "#1f6fb2", label: "D loss" },
      { values: history.g, color: "#c2185b", label: "G loss" }], { title: "losses" });
    drawChart(coverChart, [{ values: history.modes, color: "#2e7d32", label: "modes covered" }],
      { title: "mode coverage", yMin: 0, yMax: frame && frame.meta.num_modes ? frame.meta.num_modes : 1 });
    if (!view) { hint(ctx, size, "Press Play to train a GAN on this data."); return; }
    const [x0, x1, y0, y1] = view;
    const sx = (x) => ((x - x0) / (x1 - x0)) * size, sy = (y) => ((y1 - y) / (y1 - y0)) * size;
    const sameData = frame && frame.arrays.fake && (!drawnData() || frame.meta.view[0] === DRAWN_VIEW[0]);
    if (frame && sameData && shell.values.show_heat) heatmap(ctx, frame.arrays.heat, size);
    if (frame && sameData) {
      dots(ctx, frame.arrays.real.data, sx, sy, "rgba(30,30,30,0.55)", 1.6);
      dots(ctx, frame.arrays.fake.data, sx, sy, "rgba(216,27,96,0.85)", 1.9);
      if (shell.values.show_arrows) arrows(ctx, frame.arrays.arrow.data, sx, sy, size);
    }
    if (drawnData()) {
      ctx.fillStyle = "rgba(21,101,192,0.9)";
      for (const [x, y] of points) { ctx.beginPath(); ctx.arc(sx(x), sy(y), 2, 0, 7); ctx.fill(); }
      if (!points.length) hint(ctx, size, "Draw your data here, then press Play.");
    }
    if (shell.values.data === "uploaded" && frame && frame.meta.need_upload) {
      hint(ctx, size, "Load a CSV of x,y points (the button below, or drop it here).");
    }
  }

  function hint(ctx, size, text) {
    ctx.fillStyle = "#555"; ctx.font = "14px system-ui, sans-serif"; ctx.textAlign = "center";
    ctx.fillText(text, size / 2, size / 2); ctx.textAlign = "start";
  }

  const heatCanvas = document.createElement("canvas");
  function heatmap(ctx, heat, size) {
    const [h, w] = heat.shape;
    heatCanvas.width = w; heatCanvas.height = h;
    const hctx = heatCanvas.getContext("2d");
    const img = hctx.createImageData(w, h);
    // a critic's values have no fixed zero (the server says so): colour them around their mean
    const center = frame.meta.centered
      ? heat.data.reduce((a, b) => a + b, 0) / heat.data.length : 0;
    const sorted = Array.from(heat.data, (v) => Math.abs(v - center)).sort((a, b) => a - b);
    const scale = sorted[Math.floor(sorted.length * 0.95)] || 1;
    for (let i = 0; i < heat.data.length; i++) {
      const t = Math.tanh((heat.data[i] - center) / (scale || 1)); // -1 fake .. +1 real
      const [r, g, b] = t >= 0 ? mix([250, 250, 250], [255, 183, 77], t) : mix([250, 250, 250], [100, 181, 246], -t);
      img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
    }
    hctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas, 0, 0, size, size);
  }
  const mix = (a, b, t) => a.map((v, k) => Math.round(v + (b[k] - v) * t));

  function dots(ctx, data, sx, sy, color, r) {
    ctx.fillStyle = color;
    for (let i = 0; i < data.length; i += 2) {
      ctx.beginPath(); ctx.arc(sx(data[i]), sy(data[i + 1]), r, 0, 7); ctx.fill();
    }
  }

  function arrows(ctx, data, sx, sy, size) {
    let maxLen = 0;
    for (let i = 0; i < data.length; i += 4) maxLen = Math.max(maxLen, Math.hypot(data[i + 2], data[i + 3]));
    if (!(maxLen > 0)) return;
    const L = size * 0.06;
    ctx.strokeStyle = "rgba(20,20,20,0.8)"; ctx.lineWidth = 1.2;
    for (let i = 0; i < data.length; i += 4) {
      const x = sx(data[i]), y = sy(data[i + 1]);
      const dx = (data[i + 2] / maxLen) * L, dy = -(data[i + 3] / maxLen) * L;
      const ex = x + dx, ey = y + dy, a = Math.atan2(dy, dx);
      ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(ex, ey);
      ctx.lineTo(ex - 4 * Math.cos(a - 0.5), ey - 4 * Math.sin(a - 0.5));
      ctx.moveTo(ex, ey); ctx.lineTo(ex - 4 * Math.cos(a + 0.5), ey - 4 * Math.sin(a + 0.5));
      ctx.stroke();
    }
  }

  // drawing your own data
  let drawing = false, sendTimer = null;
  function addPoint(event) {
    if (!drawnData() || points.length >= MAX_POINTS) return;
    const rect = canvas.getBoundingClientRect();
    const [x0, x1, y0, y1] = DRAWN_VIEW;
    const x = x0 + ((event.clientX - rect.left) / rect.width) * (x1 - x0);
    const y = y1 - ((event.clientY - rect.top) / rect.height) * (y1 - y0);
    points.push([unsnap(snap(x)), unsnap(snap(y))]); // the grid the link stores
    showCount();
    redraw();
  }
  function sendPoints() {
    savePoints(points);
    shell.clearError(); // "draw at least … (n so far)" was about the points before these
    showCount();
    clearTimeout(sendTimer);
    sendTimer = setTimeout(() => { if (shell.socket.open) shell.socket.send({ type: "points", points }); }, 150);
  }
  canvas.addEventListener("pointerdown", (e) => {
    if (!drawnData()) return;
    drawing = true; canvas.setPointerCapture(e.pointerId); addPoint(e); e.preventDefault();
  });
  canvas.addEventListener("pointermove", (e) => { if (drawing) addPoint(e); });
  canvas.addEventListener("pointerup", () => { if (drawing) { drawing = false; sendPoints(); } });
  window.addEventListener("resize", redraw);
  showCount();
  redraw();
  return shell;
}
