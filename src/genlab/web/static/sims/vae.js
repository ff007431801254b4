// VAE lab: a 2-latent VAE (or autoencoder) on MNIST digits, training in the server
// (genlab/web/simulations/vae.py; settings: schemas.py). Click the latent map to decode; pick
// two digits to interpolate.
import { SimShell, el, drawChart, drawImages, fitCanvas, fmt } from "./core.js";
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
  const interp = el("canvas", { class: "sim-images sim-interp", width: 298, height: 28, role: "img",
                                "aria-label": "interpolation between two digits", hidden: true });
  const pickA = el("input", { type: "number", min: 0, max: 499, value: 0, id: `${shell.id}-a`, class: "sim-pick" });
  const pickB = el("input", { type: "number", min: 0, max: 499, value: 250, id: `${shell.id}-b`, class: "sim-pick" });
  const pickMode = el("input", { type: "checkbox", id: `${shell.id}-pick` });
  const interpCaption = el("p", { class: "sim-caption", text: "Pick two test digits (by number, or tick the box and click two dots)." });
  const elbo = el("canvas", { class: "sim-chart", role: "img", "aria-label": "ELBO terms over training" });
  const recons = el("canvas", { class: "sim-images sim-recons", role: "img", "aria-label": "test digits (top) and their reconstructions (bottom)" });
  const manifold = el("canvas", { class: "sim-images sim-manifold", role: "img", "aria-label": "what the decoder makes of a grid of latent points" });
  const metric = (name, label) => el("div", { class: "sim-metric" },
    el("span", { class: "sim-metric-label", text: label }),
    el("span", { class: "sim-metric-value", "data-metric": name, text: "–" }));
  const metrics = el("div", { class: "sim-metrics" }, metric("recon", "Reconstruction −log p(x|z)"),
    metric("kl", "KL(q(z|x) ‖ p(z))"), metric("loss", "Loss (nats)"));
  const useUploaded = () => { if (shell.values.data !== "uploaded") shell.setValues({ data: "uploaded" }); };
  const uploader = mountUpload(shell, { label: "⇪ Load my images (a zip or several files)",
    accept: ".zip,application/zip,image/*", multiple: true, dropTarget: shell.body, onLoaded: useUploaded });
  const needUpload = el("p", { class: "sim-hint", hidden: true,
    text: "Load your own images (a zip, or several image files; each is resized to 28×28 grey): training on the MNIST digits until then." });
  const reconsCaption = el("p", { class: "sim-caption", text: "Test digits and their reconstructions:" });
  shell.body.append(
    el("div", { class: "sim-main" }, uploader, needUpload, map, legend,
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
      manifold));

  let frame = null, cursor = null, picks = [], pending = false;
  const history = { recon: [], kl: [], loss: [], run: null };

  shell.on("frame", (f) => {
    frame = f;
    const m = f.meta;
    if (history.run !== m.run) { history.recon = []; history.kl = []; history.loss = []; history.run = m.run; }
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
    reconsCaption.textContent = own ? `Your images (${m.data.slice(7)}) and their reconstructions:` : "Test digits and their reconstructions:";
    recons.dataset.data = m.data || "";
    set("recon", fmt(m.recon)); set("kl", m.model === "ae" ? "n/a (AE)" : fmt(m.kl)); set("loss", fmt(m.loss));
    const o = f.arrays.orig, r = f.arrays.recon;
    const both = new Uint8Array(o.data.length + r.data.length);
    both.set(o.data); both.set(r.data, o.data.length);
    drawImages(recons, both, o.shape[0] * 2, 28, 28, o.shape[0]);
    if (f.arrays.manifold) drawImages(manifold, f.arrays.manifold.data, 144, 28, 28, 12, { gap: 0 });
    redraw();
  });
  shell.on("reply", (f) => {
    if (f.meta.reply === "decode") {
      drawImages(decoded, f.arrays.image.data, 1, 28, 28, 1);
      decoded.dataset.z = f.meta.z.map((v) => v.toFixed(2)).join(",");
      decodedCaption.textContent = `decoded at z = (${f.meta.z.map((v) => v.toFixed(2)).join(", ")})`;
    } else if (f.meta.reply === "interpolate") {
      const imgs = f.arrays.images;
      drawImages(interp, imgs.data, imgs.shape[0], 28, 28, imgs.shape[0]);
      interp.hidden = false;
      interpCaption.textContent = `from test digit #${f.meta.a} to #${f.meta.b}: z moves in a straight line`;
      picks = [f.meta.a, f.meta.b];
      redraw();
    }
  });

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
    drawChart(elbo, [{ values: history.recon, color: "#1f6fb2", label: "recon" },
      { values: history.kl, color: "#e65100", label: "KL" },
      { values: history.loss, color: "#222", label: "−ELBO" }], { title: "nats" });
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
    const z = frame.arrays.latent.data, labels = frame.arrays.label.data;
    for (let i = 0; i < labels.length; i++) {
      ctx.fillStyle = COLORS[labels[i]];
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
