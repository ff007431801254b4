// Export control of every simulation (server side: genlab/web/simulations/export_run.py):
// the `genlab train` command and config that train what the simulation trains with the
// library, and its current model as a run folder (.zip) that genlab.load_run, `genlab sample`
// and `genlab train --resume` accept. Layout only: the server builds all of it.
import { el } from "./core.js";

function ensureStyles() {
  if (document.querySelector("link[data-export-css]")) return;
  const link = el("link", { rel: "stylesheet", href: new URL("./export.css", import.meta.url).href });
  link.dataset.exportCss = "1";
  document.head.append(link);
}

function kilobytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1e3))} kB`;
}

export function attachExport(shell) {
  ensureStyles();
  const urls = [];
  let waiting = false;
  const showError = shell.showError.bind(shell);
  shell.showError = (message) => { // a refused export (no model yet): no panel left waiting
    if (waiting) { waiting = false; panel.hidden = true; }
    showError(message);
  };
  const panel = el("section", { class: "sim-export", "data-export": "panel", hidden: true,
                                "aria-label": "Export to the library" });
  const button = el("button", { type: "button", "data-action": "export",
    title: "the genlab train command and config of this simulation, and its model as a run folder",
    onclick: () => {
      panel.hidden = false;
      waiting = true;
      panel.replaceChildren(el("p", { class: "sim-export-wait", text: "Preparing the export…" }));
      shell.command({ type: "export" });
    } }, "Export");
  shell.toolbar.insertBefore(button, shell.status);
  shell.root.insertBefore(panel, shell.body);
  shell.on("reply", (frame) => {
    const m = frame.meta;
    if (m.reply !== "export") return;
    waiting = false;
    for (const url of urls.splice(0)) URL.revokeObjectURL(url);
    const configText = JSON.stringify(m.config, null, 2) + "\n";
    const configUrl = URL.createObjectURL(new Blob([configText], { type: "application/json" }));
    const zip = frame.arrays.zip.data;
    const zipUrl = URL.createObjectURL(new Blob([zip], { type: "application/zip" }));
    urls.push(configUrl, zipUrl);
    panel.replaceChildren(
      el("h4", { text: `Export at step ${m.step}: train this with the library` }),
      el("p", { class: "sim-note", text: "The same model, loss, remedies and optimizer settings as this simulation; add --steps N to train longer." }),
      el("pre", { class: "sim-export-command" }, el("code", { "data-export": "command", text: m.command })),
      el("div", { class: "sim-export-links" },
        el("a", { href: configUrl, download: m.config_name, "data-export": "config-link",
                  text: `Download the config (${m.config_name})` }),
        el("a", { href: zipUrl, download: m.zip_name, "data-export": "zip-link",
                  text: `Download the model as a run folder (${m.zip_name}, ${kilobytes(zip.length)})` })),
      el("details", {}, el("summary", { text: "config" }),
        el("pre", { class: "sim-export-config", "data-export": "config", text: configText })));
    shell.root.dataset.exported = String(m.step);
  });
  return button;
}
