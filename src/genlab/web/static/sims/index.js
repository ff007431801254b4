// Entry point of the live simulations: mountAll() mounts every <div class="sim" data-sim="...">.
// Each simulation is a plain ES module exporting mount(root); they load on demand.
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

export async function mountAll(root = document) {
  ensureStyles();
  // Lets the server start its simulation workers' forkserver while the learner reads.
  fetch("/api/sim/status", { cache: "no-store" }).catch(() => {});
  const mounted = [];
  for (const node of root.querySelectorAll("div.sim[data-sim]")) {
    if (node.classList.contains("sim-mounted")) continue;
    const kind = node.dataset.sim;
    if (!MODULES[kind]) {
      node.textContent = `Unknown simulation "${kind}".`;
      continue;
    }
    try {
      const module = await import(MODULES[kind]);
      mounted.push(module.mount(node));
    } catch (error) {
      node.textContent = `This simulation could not start: ${error.message}`;
      console.warn(`genlab: simulation ${kind} failed to mount`, error);
    }
  }
  return mounted;
}
