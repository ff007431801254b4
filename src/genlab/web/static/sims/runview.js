// The runs page (genlab serve --run/--runs): the hub's trained runs, each a link to the
// lesson's lab that opens it (runs.js; the labs draw them). Layout only.
import { el } from "./core.js";
import { listRuns } from "./runs.js";

const LABS = { vae: "VAE lab", gan2d: "GAN playground", dcgan: "DCGAN lab" };

async function main() {
  const node = document.getElementById("runs");
  const data = await listRuns();
  if (!data) { node.append(el("p", { class: "sim-error", text: "This hub lists no runs." })); return; }
  const list = el("ul", { class: "runs-list" });
  for (const r of data.runs) {
    list.append(el("li", {}, r.error ? el("span", { text: `${r.name}: ${r.error}` })
      : el("a", { href: r.url, "data-run": String(r.id) }, `${r.name} — ${r.kind} on ${r.data}, step ${r.step}`),
      r.error ? null : ` → ${LABS[r.lab]}${r.export ? " (a genlab export: weights only)" : ""}`));
  }
  if (data.truncated) list.append(el("li", { text: `(the first ${data.max_runs} runs only)` }));
  node.append(list);
}

main();
