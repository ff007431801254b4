// Entry point of the live simulations: mountAll() mounts every <div class="sim" data-sim="...">.
import { mountChallenge } from "./challenge.js";

// Each simulation is a plain ES module exporting mount(root, fields); they load on demand.
import { attachExport } from "./export.js";
import { attachRuns } from "./runs.js";
import { attachWatch } from "./watch.js";

const MODULES = {
  gan2d: "./gan2d.js",
  vae: "./vae.js",
  dcgan: "./dcgan.js",
  beyond: "./beyond.js",
};

function ensureStyles() {
  if (document.querySelector("link[data-sims-css]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./sims.css", import.meta.url).href;
  link.dataset.simsCss = "1";
  document.head.append(link);
}

// Every simulation's settings (name, label, bounds, choices, default, help), from their one
// definition in the server (genlab/web/simulations/schemas.py): embedded in the lesson page as
// a JSON data block, else (a page the server did not build) asked of GET /api/sim/limits.
async function loadSettings() {
  const node = document.getElementById("sim-settings");
  if (node) return JSON.parse(node.textContent);
  const response = await fetch("/api/sim/limits", { cache: "no-store" });
  if (!response.ok) throw new Error(`the server's settings are unavailable (${response.status})`);
  return (await response.json()).settings;
}

export async function mountAll(root = document) {
  ensureStyles();
  // Lets the server start its simulation workers' forkserver while the learner reads.
  if (!window.GENLAB_RECORDINGS) fetch("/api/sim/status", { cache: "no-store" }).catch(() => {});
  const nodes = [...root.querySelectorAll("div.sim[data-sim]")].filter((n) => !n.classList.contains("sim-mounted"));
  if (!nodes.length) return [];
  let settings;
  try {
    settings = await loadSettings();
  } catch (error) {
    for (const node of nodes) node.textContent = `This simulation could not start: ${error.message}`;
    return [];
  }
  const mounted = [];
  for (const node of nodes) {
    const kind = node.dataset.sim;
    if (!MODULES[kind] || !settings[kind]) {
      node.textContent = `Unknown simulation "${kind}".`;
      continue;
    }
    try {
      const module = await import(MODULES[kind]);
      const shell = module.mount(node, settings[kind]);
      // every live simulation: export.js (a recording has no live model to export),
      // teacher mode (challenge.js: a challenge is checked by the server's live training) and
      // watch mode (watch.js: share it live, watch it, fork it)
      if (shell && shell.toolbar && !window.GENLAB_RECORDINGS) {
        attachExport(shell);
        mountChallenge(shell);
        attachRuns(shell); // "Open a trained run" (genlab serve --run/--runs)
        if (shell.runId !== null) shell.ensureStarted(); // a link to a run: open it now
        attachWatch(shell); // last: a viewer's page connects to the shared simulation at once
      }
      mounted.push(shell);
    } catch (error) {
      node.textContent = `This simulation could not start: ${error.message}`;
      console.warn(`genlab: simulation ${kind} failed to mount`, error);
    }
  }
  return mounted;
}
