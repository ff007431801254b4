// Beyond the playground: anomaly detection with a VAE's likelihood, and conditional generation
// with a conditional VAE — both training live in the server (genlab/web/simulations/beyond.py;
// settings: schemas.py).
import { SimShell, el, drawImages, fitCanvas, fmt } from "./core.js";


export function mount(root, fields) {
  const shell = new SimShell(root, { kind: "beyond", prefix: "b_", fields,
                                     title: "Beyond the playground — anomalies and chosen digits" });
  // --- anomaly detection
  const worst = el("canvas", { class: "sim-images sim-worst", role: "img", "aria-label": "the least likely test digits" });
  const worstCaption = el("p", { class: "sim-caption", text: "Press Play: the VAE learns the digits, then ranks the test digits by −ELBO." });
  const hist = el("canvas", { class: "sim-chart sim-hist", role: "img", "aria-label": "histogram of anomaly scores" });
  const pad = el("canvas", { class: "sim-canvas sim-pad sim-capture", width: 280, height: 280, tabindex: "0", role: "img",
                             "aria-label": "drawing pad: draw a digit with the mouse or a finger" });
  const scoreText = el("p", { class: "sim-caption sim-score", "aria-live": "polite", text: "Draw a digit, then press “Score my digit”." });
  const recon = el("canvas", { class: "sim-images sim-pad-recon", width: 28, height: 28, role: "img", "aria-label": "the VAE's reconstruction of the drawing" });
  const auroc = el("span", { class: "sim-metric-value", "data-metric": "auroc", text: "–" });
  const loss = el("span", { class: "sim-metric-value", "data-metric": "loss", text: "–" });
  const anomaly = el("div", { class: "sim-task sim-task-anomaly" },
    el("div", { class: "sim-metrics" },
      el("div", { class: "sim-metric" }, el("span", { class: "sim-metric-label", text: "−ELBO (nats)" }), loss),
      el("div", { class: "sim-metric" }, el("span", { class: "sim-metric-label", text: "AUROC, left-out digit" }), auroc)),
    el("p", { class: "sim-caption", text: "The 8 least likely test digits (highest −ELBO):" }), worst, worstCaption, hist,
    el("div", { class: "sim-row" }, pad,
      el("div", {},
        el("div", { class: "sim-row" },
          el("button", { type: "button", "data-action": "score", onclick: () => score() }, "Score my digit"),
          el("button", { type: "button", "data-action": "clear", onclick: () => clearPad() }, "Clear")),
        scoreText, recon)));
  // --- conditional generation
  const condGrid = el("canvas", { class: "sim-images sim-cond", role: "img", "aria-label": "four samples of every digit" });
  const classPick = el("select", { id: `${shell.id}-class`, name: "class" },
    Array.from({ length: 10 }, (_, d) => el("option", { value: d, text: String(d) })));
  const generated = el("canvas", { class: "sim-images sim-generated", role: "img", "aria-label": "generated samples of the chosen digit", hidden: true });
  const conditional = el("div", { class: "sim-task sim-task-conditional", hidden: true },
    el("p", { class: "sim-caption", text: "Columns: digits 0–9; rows: four fixed z — the label alone decides which digit:" }), condGrid,
    el("div", { class: "sim-row" }, el("label", { for: classPick.id, text: "Digit" }), classPick,
      el("button", { type: "button", "data-action": "generate",
                     onclick: () => shell.command({ type: "generate", label: Number(classPick.value) }) }, "Generate 8")),
    generated);
  shell.body.append(el("div", { class: "sim-wide" }, anomaly, conditional));
  const showTask = () => {
    const holdout = shell.controls.form.querySelector('[data-field="holdout"]');
    if (holdout) holdout.hidden = shell.values.task !== "anomaly";
    anomaly.hidden = shell.values.task !== "anomaly";
    conditional.hidden = shell.values.task !== "conditional";
  };
  shell.onChange = () => showTask();
  showTask();

  shell.on("frame", (f) => {
    const m = f.meta;
    loss.textContent = fmt(m.loss);
    if (m.task === "anomaly" && f.arrays.worst) {
      const w = f.arrays.worst;
      drawImages(worst, w.data, w.shape[0], 28, 28, w.shape[0]);
      const labels = Array.from(f.arrays.wlabel.data), scores = Array.from(f.arrays.wscore.data);
      worstCaption.textContent = "digits " + labels.join(", ") + " — −ELBO " + scores.map((s) => s.toFixed(0)).join(", ");
      auroc.textContent = m.auroc === undefined ? "n/a" : fmt(m.auroc);
      histogram(f.arrays.scores.data, f.arrays.labels.data, m.holdout);
    } else if (m.task === "conditional" && f.arrays.cond) {
      // server order: digit-major (0,0,0,0,1,...); shown with digits as columns, z as rows
      const src = f.arrays.cond.data, out = new Uint8Array(src.length), px = 28 * 28;
      for (let d = 0; d < 10; d++) for (let j = 0; j < 4; j++) {
        out.set(src.subarray((d * 4 + j) * px, (d * 4 + j + 1) * px), (j * 10 + d) * px);
      }
      drawImages(condGrid, out, 40, 28, 28, 10);
    }
  });
  shell.on("reply", (f) => {
    if (f.meta.reply === "score") {
      scoreText.textContent = `−ELBO ${f.meta.score.toFixed(1)} nats: less likely than ${f.meta.percentile.toFixed(0)}% of the test digits. The VAE's reconstruction:`;
      drawImages(recon, f.arrays.recon.data, 1, 28, 28, 1);
    } else if (f.meta.reply === "generate") {
      drawImages(generated, f.arrays.images.data, 8, 28, 28, 8);
      generated.hidden = false;
    }
  });

  function histogram(scores, labels, holdout) {
    const rect = hist.getBoundingClientRect();
    const w = Math.max(rect.width, 100), h = Math.max(rect.height, 80);
    const ctx = fitCanvas(hist, w, h);
    ctx.clearRect(0, 0, w, h);
    const finite = Array.from(scores).filter(Number.isFinite);
    if (!finite.length) return;
    const lo = Math.min(...finite), hi = Math.max(...finite), bins = 40;
    const normal = new Array(bins).fill(0), odd = new Array(bins).fill(0);
    scores.forEach((s, i) => {
      if (!Number.isFinite(s)) return;
      const b = Math.min(bins - 1, Math.floor(((s - lo) / (hi - lo || 1)) * bins));
      (labels[i] === holdout ? odd : normal)[b] += 1;
    });
    const top = Math.max(...normal.map((v, i) => v + odd[i]), 1), bw = (w - 10) / bins;
    for (let b = 0; b < bins; b++) {
      const hn = (normal[b] / top) * (h - 28), ho = (odd[b] / top) * (h - 28);
      ctx.fillStyle = "#90a4ae"; ctx.fillRect(5 + b * bw, h - 14 - hn, bw - 1, hn);
      ctx.fillStyle = "#d81b60"; ctx.fillRect(5 + b * bw, h - 14 - hn - ho, bw - 1, ho);
    }
    ctx.fillStyle = "#444"; ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(holdout >= 0 ? `−ELBO of test digits (pink: digit ${holdout}, never seen)` : "−ELBO of test digits", 5, 11);
    ctx.fillText(lo.toFixed(0), 5, h - 2); ctx.textAlign = "right"; ctx.fillText(hi.toFixed(0), w - 5, h - 2); ctx.textAlign = "start";
  }

  // --- drawing pad: white ink on black, like MNIST; centred by its bounding box into 20×20
  const pctx = pad.getContext("2d");
  function clearPad() { pctx.fillStyle = "#000"; pctx.fillRect(0, 0, pad.width, pad.height); }
  clearPad();
  let drawing = false, last = null;
  const at = (e) => { const r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; };
  pad.addEventListener("pointerdown", (e) => { drawing = true; last = at(e); pad.setPointerCapture(e.pointerId); stroke(last, last); e.preventDefault(); });
  pad.addEventListener("pointermove", (e) => { if (!drawing) return; const p = at(e); stroke(last, p); last = p; });
  pad.addEventListener("pointerup", () => { drawing = false; });
  function stroke(a, b) {
    pctx.strokeStyle = "#fff"; pctx.lineWidth = 20; pctx.lineCap = "round";
    pctx.beginPath(); pctx.moveTo(a[0], a[1]); pctx.lineTo(b[0], b[1]); pctx.stroke();
  }
  function padImage() {
    const data = pctx.getImageData(0, 0, pad.width, pad.height).data;
    let x0 = pad.width, y0 = pad.height, x1 = -1, y1 = -1;
    for (let y = 0; y < pad.height; y++) for (let x = 0; x < pad.width; x++) {
      if (data[4 * (y * pad.width + x)] > 30) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
    if (x1 < 0) return null;
    const small = document.createElement("canvas"); small.width = 28; small.height = 28;
    const sctx = small.getContext("2d");
    sctx.fillStyle = "#000"; sctx.fillRect(0, 0, 28, 28);
    const side = Math.max(x1 - x0, y1 - y0) + 1, scale = 20 / side;
    const dw = (x1 - x0 + 1) * scale, dh = (y1 - y0 + 1) * scale;
    sctx.imageSmoothingEnabled = true;
    sctx.drawImage(pad, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (28 - dw) / 2, (28 - dh) / 2, dw, dh);
    const px = sctx.getImageData(0, 0, 28, 28).data;
    return Array.from({ length: 784 }, (_, i) => Math.round((px[4 * i] / 255) * 1000) / 1000);
  }
  function score() {
    const image = padImage();
    if (!image) { shell.showError("Draw a digit on the black pad first."); return; }
    shell.command({ type: "score", image });
  }
  return shell;
}
