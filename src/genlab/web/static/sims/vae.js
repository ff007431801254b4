// VAE lab: a 2-latent VAE (or autoencoder) on MNIST digits, training in the server
// (genlab/web/simulations/vae.py; settings: schemas.py). Click the latent map to decode; pick
// two digits to interpolate. A trained run (genlab serve --run) draws here too: its images at
// their own size, and with more than two latent dimensions its codes on their PCA plane.
import { SimShell, el, drawChart, drawStack, fitCanvas, fmt } from "./core.js";
import { mountUpload } from "./upload.js";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];
const HISTORY = 600;

export function mount(root, fields) {
  const shell = new SimShell(root, { kind: "vae", prefix: "v_", fields,
                                     title: "VAE lab — the latent space of MNIST digits" });
  const map = el("canvas", { class: "sim-canvas sim-square sim-latent", tabindex: "0", role: "img",
    "aria-label": "latent space: each test digit at its code, coloured by digit. Click, or use the arrow keys and Enter, to decode a point" });
  const legend = el("p", { class: "sim-legend" }, COLORS.map((c, d) => {
    const key = el("span", { class: "sim-key sim-digit-key", "data-digit": d });
    key.style.background = c; // CSSOM, allowed under the CSP
    return el("span", { class: "sim-digit" }, key, ` ${d} `);
  }));
  const decoded = el("canvas", { class: "sim-images sim-decoded", width: 28, height: 28, role: "img",
                                 "aria-label": "the decoder's image at the chosen point" });
  const decodedCaption = el("p", { class: "sim-caption", text: "Click the map to decode a point." });
  const planeNote = el("p", { class: "sim-hint sim-plane", hidden: true });
  const interp = el("canvas", { class: "sim-images sim-interp", width: 298, height: 28, role: "img",
                                "aria-label": "interpolation between two digits", hidden: true });
  // the endpoints default to the server's pair (two different digits) until the learner picks
  const pickA = el("input", { type: "number", min: 0, max: 499, value: "", id: `${shell.id}-a`, class: "sim-pick" });
  const pickB = el("input", { type: "number", min: 0, max: 499, value: "", id: `${shell.id}-b`, class: "sim-pick" });
  let pairChosen = false;
  for (const p of [pickA, pickB]) p.addEventListener("change", () => { pairChosen = true; });
  const pickMode = el("input", { type: "checkbox", id: `${shell.id}-pick` });
  const interpCaption = el("p", { class: "sim-caption", text: "Pick two test digits (by number, or tick the box and click two dots)." });
  const elbo = el("canvas", { class: "sim-chart", role: "img", "aria-label": "the loss terms over training" });
  const recons = el("canvas", { class: "sim-images sim-recons", role: "img", "aria-label": "test digits (top) and their reconstructions (bottom)" });
  const manifold = el("canvas", { class: "sim-images sim-manifold", role: "img", "aria-label": "what the decoder makes of a grid of latent points" });
  const metric = (name, label) => el("div", { class: "sim-metric" },
    el("span", { class: "sim-metric-label", text: label }),
    el("span", { class: "sim-metric-value", "data-metric": name, text: "–" }));
  const metrics = el("div", { class: "sim-metrics" }, metric("recon", "Reconstruction −log p(x|z)"),
    metric("kl", "KL(q(z|x) ‖ p(z))"), metric("loss", "−ELBO (nats)"));
  // sampling: decode z ~ N(0, I); in AE mode beside a VAE trained alongside (vae.py)
  const prior = el("canvas", { class: "sim-images sim-prior", role: "img", "aria-label": "the decoder at samples z ~ N(0, I)" });
  const priorVae = el("canvas", { class: "sim-images sim-prior-vae", role: "img", "aria-label": "the companion VAE's decoder at the same samples" });
  const priorCaption = el("figcaption", { class: "sim-caption sim-prior-caption", text: "this model" });
  const priorVaeBox = el("figure", { class: "sim-prior-box", hidden: true }, priorVae,
    el("figcaption", { class: "sim-caption", text: "a VAE (β = 1) trained alongside" }));
  const priorStat = el("p", { class: "sim-note sim-prior-stat", text: "" });
  const useUploaded = () => { if (shell.values.data !== "uploaded") shell.setValues({ data: "uploaded" }); };
  const uploader = mountUpload(shell, { label: "⇪ Load my images (a zip or several files)",
    accept: ".zip,application/zip,image/*", multiple: true, dropTarget: shell.body, onLoaded: useUploaded });
  const needUpload = el("p", { class: "sim-hint", hidden: true,
    text: "Load your own images (a zip, or several image files; each is resized to 28×28 grey): training on the MNIST digits until then." });
  const reconsCaption = el("p", { class: "sim-caption", text: "Test digits, one of each class, and their reconstructions:" });
  shell.body.append(
    el("div", { class: "sim-main" }, uploader, needUpload, map, legend, planeNote,
      el("div", { class: "sim-row" }, decoded, decodedCaption),
      el("div", { class: "sim-row sim-interp-row" },
        el("label", { for: pickA.id, text: "from #" }), pickA,
        el("label", { for: pickB.id, text: "to #" }), pickB,
        el("button", { type: "button", "data-action": "interpolate", onclick: () => interpolate() }, "Interpolate"),
        el("span", {}, pickMode, el("label", { for: pickMode.id, text: " pick by clicking" }))),
      interp, interpCaption),
    el("div", { class: "sim-side" }, metrics, elbo,
      reconsCaption, recons,
      el("p", { class: "sim-caption", text: "The decoder on a 12×12 grid over the map (holes show as non-digits):" }),
      manifold,
      el("p", { class: "sim-caption", text: "Sampling: 16 draws z ~ N(0, I), decoded:" }),
      el("div", { class: "sim-prior-row" },
        el("figure", { class: "sim-prior-box" }, prior, priorCaption), priorVaeBox),
      priorStat));

  // β weighs the KL term: an autoencoder has none, so its control is off, saying why
  const betaField = shell.controls.form.querySelector('[data-field="beta"]');
  const betaReason = el("small", { class: "sim-field-reason", text: "off: an autoencoder has no KL term", hidden: true });
  if (betaField) betaField.append(betaReason);
  function showMode() {
    const ae = shell.values.model === "ae";
    if (betaField) {
      betaField.querySelector("input").disabled = ae;
      betaField.classList.toggle("sim-field-off", ae);
      betaReason.hidden = !ae;
    }
    // an autoencoder's loss is its reconstruction term alone: one readout, no KL, no −ELBO
    metrics.querySelector('[data-metric="kl"]').parentElement.hidden = ae;
    metrics.querySelector('[data-metric="loss"]').parentElement.hidden = ae;
    metrics.querySelector('[data-metric="recon"]').previousElementSibling.textContent =
      ae ? "Reconstruction loss −log p(x|z) (nats)" : "Reconstruction −log p(x|z)";
    priorVaeBox.hidden = !ae;
    priorCaption.textContent = ae ? "the autoencoder" : "this VAE";
    root.dataset.model = shell.values.model;
  }
  shell.onChange = (name) => { if (name === "model") { clearStale(); showMode(); } };
  showMode();
  // a new model makes the strip, the decoded point and the prior samples of the last one stale
  function clearStale() {
    interp.hidden = true; picks = []; cursor = null;
    interpCaption.textContent = "Pick two test digits (by number, or tick the box and click two dots).";
    decodedCaption.textContent = "Click the map to decode a point.";
    decoded.getContext("2d").clearRect(0, 0, decoded.width, decoded.height);
    priorStat.textContent = "";
    redraw();
  }
  pickMode.addEventListener("change", () => map.classList.toggle("sim-capture", pickMode.checked));

  let frame = null, cursor = null, picks = [], pending = false;
  const history = { recon: [], kl: [], loss: [], run: null };

  shell.on("frame", (f) => {
    frame = f;
    const m = f.meta;
    if (history.run !== m.run) {
      if (history.run !== null) clearStale();
      history.recon = []; history.kl = []; history.loss = []; history.run = m.run;
    }
    if (!pairChosen && m.pair) { pickA.value = m.pair[0]; pickB.value = m.pair[1]; }
    for (const k of ["recon", "kl", "loss"]) {
      history[k].push(m[k] ?? NaN);
      if (history[k].length > HISTORY) history[k].shift();
    }
    needUpload.hidden = !m.need_upload;
    legend.querySelectorAll(".sim-digit").forEach((item, d) => { // an uploaded set's classes
      const name = m.classes ? m.classes[d] : String(d);
      item.hidden = m.classes ? name === undefined || m.classes.length < 2 : false;
      item.lastChild.textContent = ` ${name ?? d} `;
    });
    const own = m.data && m.data.startsWith("upload:");
    reconsCaption.textContent = own ? `Your images (${m.data.slice(7)}) and their reconstructions:` : "Test digits, one of each class, and their reconstructions:";
    recons.dataset.data = m.data || "";
    set("recon", fmt(m.recon)); set("kl", m.model === "ae" ? "n/a (AE)" : fmt(m.kl)); set("loss", fmt(m.loss));
    const o = f.arrays.orig, r = f.arrays.recon;
    const both = new Uint8Array(o.data.length + r.data.length);
    both.set(o.data); both.set(r.data, o.data.length);
    drawStack(recons, { data: both, shape: [o.shape[0] * 2, ...o.shape.slice(1)] }, o.shape[0]);
    recons.dataset.labels = (m.shown || []).map((i) => frame.arrays.label.data[i]).join(",");
    if (f.arrays.manifold) drawStack(manifold, f.arrays.manifold, 12, { gap: 0 });
    if (f.arrays.prior) drawStack(prior, f.arrays.prior, 4);
    if (f.arrays.prior_v) drawStack(priorVae, f.arrays.prior_v, 4);
    const p = m.projection;
    planeNote.hidden = !p;
    if (p) {
      planeNote.textContent = `${p.latent_dim} latent dimensions: the map is a plane of the latent ` +
        `space — the codes' two principal directions (PCA, ${Math.round(100 * p.explained)} % of ` +
        "their variance), through their mean. A click decodes that point of the plane; the prior's " +
        "circles are N(0, I) seen on it.";
    }
    if (m.from_run) reconsCaption.textContent = `Test examples of ${m.data} and their reconstructions:`;
    priorStat.textContent = priorText(m);
    redraw();
  });
  shell.on("reply", (f) => {
    if (f.meta.reply === "decode") {
      drawStack(decoded, f.arrays.image, 1);
      decoded.dataset.z = f.meta.z.map((v) => v.toFixed(2)).join(",");
      decodedCaption.textContent = `decoded at z = (${f.meta.z.map((v) => v.toFixed(2)).join(", ")})`;
    } else if (f.meta.reply === "interpolate") {
      const imgs = f.arrays.images;
      drawStack(interp, imgs);
      interp.hidden = false;
      const digit = (i) => (frame ? ` (a ${frame.arrays.label.data[i]})` : "");
      interpCaption.textContent = `from test digit #${f.meta.a}${digit(f.meta.a)} to ` +
        `#${f.meta.b}${digit(f.meta.b)}: z moves in a straight line`;
      picks = [f.meta.a, f.meta.b];
      redraw();
    }
  });

  // the share of 500 prior samples the evaluation classifier recognizes, as the server measured it
  function priorText(m) {
    const pct = (v) => `${Math.round(100 * v)} %`;
    if (m.recognized === null || m.recognized === undefined) return `Recognized samples: ${m.classifier}.`;
    const what = `of 500 samples z ~ N(0, I) decoded, the evaluation classifier recognizes a digit ` +
      `(probability ≥ ${m.confident}) in`;
    if (m.model === "ae" && m.recognized_vae !== null && m.recognized_vae !== undefined) {
      return `At step ${m.step}, ${what} ${pct(m.recognized)} for the autoencoder and ` +
        `${pct(m.recognized_vae)} for the VAE beside it.`;
    }
    return `At step ${m.step}, ${what} ${pct(m.recognized)}.`;
  }
  function set(name, text) { metrics.querySelector(`[data-metric="${name}"]`).textContent = text; }
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paint(); });
  }

  function toScreen(view, size) {
    const [x0, x1, y0, y1] = view;
    return [(x) => ((x - x0) / (x1 - x0)) * size, (y) => ((y1 - y) / (y1 - y0)) * size];
  }

  function paint() {
    const size = map.getBoundingClientRect().width || 400;
    const ctx = fitCanvas(map, size, size);
    ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, size, size);
    const series = shell.values.model === "ae"
      ? [{ values: history.recon, color: "#1f6fb2", label: "reconstruction loss" }]
      : [{ values: history.recon, color: "#1f6fb2", label: "recon" },
         { values: history.kl, color: "#e65100", label: "KL" },
         { values: history.loss, color: "#222", label: "−ELBO" }];
    drawChart(elbo, series, { title: "nats" });
    elbo.dataset.series = series.map((x) => x.label).join(",");
    elbo.setAttribute("aria-label", `over training, in nats: ${series.map((x) => x.label).join(", ")}`);
    if (!frame) {
      ctx.fillStyle = "#555"; ctx.font = "14px system-ui, sans-serif"; ctx.textAlign = "center";
      ctx.fillText("Press Play to train; then click here to decode.", size / 2, size / 2);
      ctx.textAlign = "start";
      return;
    }
    const [sx, sy] = toScreen(frame.meta.view, size);
    // axes through z = 0
    ctx.strokeStyle = "#e0e0e0"; ctx.beginPath();
    ctx.moveTo(sx(0), 0); ctx.lineTo(sx(0), size); ctx.moveTo(0, sy(0)); ctx.lineTo(size, sy(0)); ctx.stroke();
    // the prior N(0, I): its 1σ and 2σ circles (the view is square: equal scale on both axes)
    const unit = sx(1) - sx(0);
    ctx.strokeStyle = "#5f6670"; ctx.setLineDash([5, 4]); ctx.lineWidth = 1.2;
    for (const r of [1, 2]) { ctx.beginPath(); ctx.arc(sx(0), sy(0), r * unit, 0, 7); ctx.stroke(); }
    ctx.setLineDash([]);
    ctx.fillStyle = "#3d434b"; ctx.font = "11px system-ui, sans-serif";
    const tag = "prior N(0, I): 1σ, 2σ", tagW = ctx.measureText(tag).width;
    const tx = Math.min(size - tagW - 4, Math.max(4, sx(0) + 1.45 * unit));
    const ty = Math.max(12, Math.min(size - 4, sy(0) - 1.45 * unit - 4));
    ctx.fillStyle = "rgba(250, 250, 250, 0.85)"; ctx.fillRect(tx - 2, ty - 10, tagW + 4, 13);
    ctx.fillStyle = "#3d434b"; ctx.fillText(tag, tx, ty);
    const z = frame.arrays.latent.data, labels = frame.arrays.label.data;
    for (let i = 0; i < labels.length; i++) {
      ctx.fillStyle = COLORS[labels[i] % COLORS.length];
      ctx.beginPath(); ctx.arc(sx(z[2 * i]), sy(z[2 * i + 1]), 2.6, 0, 7); ctx.fill();
    }
    ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
    for (const i of picks) {
      ctx.beginPath(); ctx.arc(sx(z[2 * i]), sy(z[2 * i + 1]), 6, 0, 7); ctx.stroke();
    }
    if (picks.length === 2) {
      ctx.setLineDash([4, 3]); ctx.beginPath();
      ctx.moveTo(sx(z[2 * picks[0]]), sy(z[2 * picks[0] + 1]));
      ctx.lineTo(sx(z[2 * picks[1]]), sy(z[2 * picks[1] + 1])); ctx.stroke(); ctx.setLineDash([]);
    }
    if (cursor) {
      const cx = sx(cursor[0]), cy = sy(cursor[1]);
      ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(cx - 8, cy); ctx.lineTo(cx + 8, cy); ctx.moveTo(cx, cy - 8); ctx.lineTo(cx, cy + 8); ctx.stroke();
    }
  }

  function decodeAt(zz) {
    cursor = zz;
    shell.command({ type: "decode", z: zz });
    redraw();
  }

  function interpolate() {
    if (pickA.value === "" || pickB.value === "") { shell.showError("Press Play (or Step) first: the endpoints come with the first picture."); return; }
    const a = Number(pickA.value), b = Number(pickB.value);
    shell.command({ type: "interpolate", a, b, steps: 10 });
  }

  map.addEventListener("click", (event) => {
    if (!frame) { shell.showError("Press Play (or Step) first: the model must exist before it can decode."); return; }
    const rect = map.getBoundingClientRect();
    const [x0, x1, y0, y1] = frame.meta.view;
    const zx = x0 + ((event.clientX - rect.left) / rect.width) * (x1 - x0);
    const zy = y1 - ((event.clientY - rect.top) / rect.height) * (y1 - y0);
    if (pickMode.checked) {
      const z = frame.arrays.latent.data;
      let best = 0, bestD = Infinity;
      for (let i = 0; i < z.length / 2; i++) {
        const d = (z[2 * i] - zx) ** 2 + (z[2 * i + 1] - zy) ** 2;
        if (d < bestD) { bestD = d; best = i; }
      }
      picks = picks.length >= 2 ? [best] : [...picks, best];
      pairChosen = true;
      if (picks.length === 1) pickA.value = best; else { pickB.value = best; interpolate(); }
      redraw();
      return;
    }
    decodeAt([zx, zy]);
  });
  map.addEventListener("keydown", (event) => {
    if (!frame) return;
    const [x0, x1, y0, y1] = frame.meta.view;
    const stepX = (x1 - x0) / 20, stepY = (y1 - y0) / 20;
    const c = cursor ? [...cursor] : [(x0 + x1) / 2, (y0 + y1) / 2];
    const moves = { ArrowLeft: [-stepX, 0], ArrowRight: [stepX, 0], ArrowUp: [0, stepY], ArrowDown: [0, -stepY] };
    if (moves[event.key]) { c[0] += moves[event.key][0]; c[1] += moves[event.key][1]; decodeAt(c); event.preventDefault(); }
    else if (event.key === "Enter" || event.key === " ") { decodeAt(c); event.preventDefault(); }
  });
  window.addEventListener("resize", redraw);
  redraw();
  return shell;
}
