// Trained runs in the labs (genlab serve --run/--runs; server: genlab/web/runs_browser.py and
// genlab/web/simulations/from_run.py): each lab gets "Open a trained run", listing the runs the
// server knows that fit it; picking one opens it as the lab's model (SimShell.openRun: the
// lab's own drawing code shows it). Without --run/--runs the hub lists no runs: no control.
import { el } from "./core.js";

let listing = null;

// the server's runs (GET /api/runs), asked once per page; null when the hub lists none
export function listRuns() {
  if (!listing) {
    listing = fetch("/api/runs", { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : null)).catch(() => null);
  }
  return listing;
}

export async function attachRuns(shell) {
  const data = await listRuns();
  if (!data || !data.runs.length) return null;
  const fitting = data.runs.filter((r) => r.lab === shell.kind && !r.error);
  const others = data.runs.length - fitting.length;
  const select = el("select", { id: `${shell.id}-run`, name: "run", "data-runs": shell.kind },
    el("option", { value: "", text: "— this lab's own model —" }),
    fitting.map((r) => el("option", { value: String(r.id),
      text: `${r.name} (${r.kind} on ${r.data}, step ${r.step})` })));
  select.value = shell.runId === null ? "" : String(shell.runId);
  select.addEventListener("change", () => shell.openRun(select.value === "" ? null : Number(select.value)));
  const hint = fitting.length ? (others ? ` (${others} other run(s) open in other labs: see the runs page)` : "")
    : " — none of the hub's runs fits this lab";
  const box = el("div", { class: "sim-runs" },
    el("label", { for: select.id, text: "Open a trained run" }), select,
    el("small", { class: "sim-runs-hint" }, hint, " ", el("a", { href: "/runs", text: "all runs" })));
  if (!fitting.length) select.disabled = true;
  shell.toolbar.after(box);
  return box;
}
