// DCGAN lab: a small DCGAN (or a variant with another loss) training on MNIST digits in the
// server (genlab/web/simulations/dcgan.py; settings: schemas.py). The 4×4 grid always shows
// G(z) for the same 16 z; "Interpolate" walks G along the line between two of them. A trained
// image GAN (genlab serve --run) draws here too, at its own image size (grey or RGB).
import { SimShell, el, drawChart, drawStack, fmt } from "./core.js";
import { mountUpload } from "./upload.js";

const HISTORY = 400;

export function mount(root, fields) {
  const shell = new SimShell(root, { kind: "dcgan", prefix: "d_", fields,
                                     title: "DCGAN lab — generating digits" });
  const grid = el("canvas", { class: "sim-images sim-dcgan-grid", width: 118, height: 118, role: "img",
                              "aria-label": "16 generated digits from fixed noise" });
  const metric = (name, label) => el("div", { class: "sim-metric" },
    el("span", { class: "sim-metric-label", text: label }),
    el("span", { class: "sim-metric-value", "data-metric": name, text: "–" }));
  const metrics = el("div", { class: "sim-metrics" }, metric("p_real", "D(x) real"),
    metric("p_fake", "D(G(z)) fake"), metric("loss_d", "D loss"), metric("loss_g", "G loss"));
  const lossChart = el("canvas", { class: "sim-chart", role: "img", "aria-label": "loss curves" });
  const dChart = el("canvas", { class: "sim-chart", role: "img", "aria-label": "D(x) and D(G(z)) over time" });
  const note = el("p", { class: "sim-caption",
    text: "Same 16 noise vectors z all along: watch noise turn into strokes, then digits. At the game's equilibrium D(x) = D(G(z)) = ½." });
  const useUploaded = () => { if (shell.values.data !== "uploaded") shell.setValues({ data: "uploaded" }); };
  const uploader = mountUpload(shell, { label: "⇪ Load my images (a zip or several files)",
    accept: ".zip,application/zip,image/*", multiple: true, dropTarget: shell.body, onLoaded: useUploaded });
  const needUpload = el("p", { class: "sim-hint", hidden: true,
    text: "Load your own images (a zip, or several image files; each is resized to 28×28 grey): training on the MNIST digits until then." });
  // interpolation: G(z) along the straight line from the grid's sample a to its sample b
  const pick = (name, value) => el("input", { type: "number", min: 0, max: 15, value, id: `${shell.id}-${name}`, class: "sim-pick" });
  const pickA = pick("a", 0), pickB = pick("b", 15);
  const strip = el("canvas", { class: "sim-images sim-interp sim-dcgan-interp", role: "img", hidden: true,
                               "aria-label": "G along the line between two of the samples" });
  const stripCaption = el("p", { class: "sim-caption", text: "Samples are numbered 0–15, row by row." });
  const interpolate = () => shell.command({ type: "interpolate", a: Number(pickA.value), b: Number(pickB.value), steps: 10 });
  const cannotTrain = el("p", { class: "sim-hint", hidden: true });
  shell.body.append(el("div", { class: "sim-main" }, uploader, needUpload, cannotTrain, grid, note,
    el("div", { class: "sim-row sim-interp-row" },
      el("label", { for: pickA.id, text: "from sample #" }), pickA,
      el("label", { for: pickB.id, text: "to #" }), pickB,
      el("button", { type: "button", "data-action": "interpolate", onclick: interpolate }, "Interpolate")),
    strip, stripCaption),
    el("div", { class: "sim-side" }, metrics, lossChart, dChart));
  shell.on("reply", (f) => {
    if (f.meta.reply !== "interpolate") return;
    drawStack(strip, f.arrays.images);
    strip.hidden = false;
    strip.dataset.steps = String(f.arrays.images.shape[0]);
    stripCaption.textContent = `G(z) from sample #${f.meta.a} to #${f.meta.b}: z moves in a straight line.`;
  });

  const history = { d: [], g: [], pr: [], pf: [], run: null };
  shell.on("frame", (f) => {
    const m = f.meta;
    if (history.run !== m.run) { history.d = []; history.g = []; history.pr = []; history.pf = []; history.run = m.run; }
    needUpload.hidden = !m.need_upload;
    cannotTrain.hidden = !m.cannot_train;
    cannotTrain.textContent = m.cannot_train ? `Play cannot train this run here: ${m.cannot_train}` : "";
    grid.dataset.data = m.data || "";
    const push = (a, v) => { a.push(v ?? NaN); if (a.length > HISTORY) a.shift(); };
    const critic = Boolean(m.critic); // the server says whether D is a critic, not a classifier
    push(history.d, m.loss_d); push(history.g, m.loss_g);
    push(history.pr, critic ? m.d_real : m.p_real); push(history.pf, critic ? m.d_fake : m.p_fake);
    set("p_real", fmt(critic ? m.d_real : m.p_real));
    set("p_fake", fmt(critic ? m.d_fake : m.p_fake));
    metrics.querySelector('[data-metric="p_real"]').previousSibling.textContent = critic ? "critic on real" : "D(x) real";
    metrics.querySelector('[data-metric="p_fake"]').previousSibling.textContent = critic ? "critic on fake" : "D(G(z)) fake";
    set("loss_d", fmt(m.loss_d)); set("loss_g", fmt(m.loss_g));
    const g = f.arrays.grid;
    drawStack(grid, g, 4);
    drawChart(lossChart, [{ values: history.d, color: "#1f6fb2", label: "D loss" },
      { values: history.g, color: "#c2185b", label: "G loss" }], { title: "losses" });
    drawChart(dChart, [{ values: history.pr, color: "#2e7d32", label: critic ? "critic(x)" : "D(x)" },
      { values: history.pf, color: "#e65100", label: critic ? "critic(G(z))" : "D(G(z))" }],
      critic ? { title: "critic values" } : { title: "probabilities", yMin: 0, yMax: 1 });
  });
  function set(name, text) { metrics.querySelector(`[data-metric="${name}"]`).textContent = text; }
  return shell;
}
