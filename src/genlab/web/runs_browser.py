"""CLI-trained runs in the hub (issue 13 §3): `genlab serve --run RUN` / `--runs DIR`.

The server keeps the list of runs it may open (`RunList`: each --run, and the run folders
one level under --runs DIR, at most MAX_RUNS); a page names a run by its index in that list,
never by a path. Each run opens IN THE LESSON'S LAB that fits it (genlab.web.simulations.
from_run: the lab's live worker builds the run's model with genlab.load_run and streams its
frames as for the lab's own model, so the lab's own drawing code shows it):
    ae / vae        the VAE lab's latent explorer (more than two latent dimensions: the PCA
                    plane of the codes)
    gan on points   the GAN playground (samples, the discriminator's heat map)
    gan / dcgan     the DCGAN lab (samples, interpolation)
A run is a run folder or a folder `genlab export` wrote (Hugging Face layout). The folders
are only read; "continue training" (the lab's Play) trains a copy in the worker's memory.

Routes:
    GET  /runs          the listing page (static/sims/runview.js): each run, a link to its lab
    GET  /api/runs      {"runs": [{id, name, kind, data, step, lab, url}], "truncated",
                        "max_runs"}; `url`: the lesson page with the run open in its lab
                        (`/?v_run=0#sim-vae`; the lab reads `<prefix>run`, static/sims/core.js)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from genlab.errors import GenlabError
from genlab.web.simulations.from_run import LAB_TITLES, lab_of

MAX_RUNS = 200  # run folders listed under --runs DIR
PREFIXES = {"vae": "v_", "gan2d": "g_", "dcgan": "d_"}  # each lab's settings in the URL (JS)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>genlab — trained runs</title>
<link rel="stylesheet" href="/static/sims/sims.css">
<link rel="stylesheet" href="/static/sims/runview.css">
<script type="module" src="/static/sims/runview.js"></script>
</head><body><main class="runs-page">
<h1>genlab — trained runs</h1>
<p class="sim-note">Runs trained with <code>genlab train</code>; each opens in the lesson's lab
that fits it (the run's folder is only read). <a href="/">The lesson</a></p>
<div id="runs" class="runs"></div>
</main></body></html>
"""


def has_checkpoints(folder: Path) -> bool:
    return (folder / "checkpoints" / "latest.json").is_file()


def is_run(folder: Path) -> bool:
    """A run folder (genlab train --out) or a folder `genlab export` wrote (genlab.export)."""
    from genlab.hub_layout import is_export

    return has_checkpoints(folder) or is_export(folder)


def find_runs(run_paths: list[str | Path], runs_dir: str | Path | None) -> tuple[list[Path], bool]:
    """The run folders named (each must be one) and those under `runs_dir` (it and its
    subfolders, sorted, at most MAX_RUNS); whether the listing was cut."""
    found: list[Path] = []
    for path in run_paths:
        p = Path(path)
        if not p.is_dir():
            raise GenlabError(f"--run {str(p)!r}: no such folder")
        if not is_run(p):
            raise GenlabError(f"--run {str(p)!r} is not a run folder (no checkpoints/latest.json) "
                              "nor a genlab export (no model.safetensors)")
        found.append(p.resolve())
    truncated = False
    if runs_dir is not None:
        root = Path(runs_dir)
        if not root.is_dir():
            raise GenlabError(f"--runs {str(root)!r}: no such folder")
        candidates = [root] + sorted(p for p in root.iterdir() if p.is_dir())
        for p in candidates:
            if is_run(p) and p.resolve() not in found:
                if len(found) >= MAX_RUNS:
                    truncated = True
                    break
                found.append(p.resolve())
    return found, truncated


def lab_url(run_id: int, lab: str) -> str:
    """The lesson page with run `run_id` open in `lab`."""
    return f"/?{PREFIXES[lab]}run={run_id}#sim-{lab}"


class RunList:
    """The runs a hub may open (paths, read-only); pages name them by index."""

    def __init__(self, paths: list[Path], truncated: bool = False):
        self.paths, self.truncated = paths, truncated

    def entry(self, run_id: int) -> dict[str, Any]:
        """What the listing says of run `run_id` (read from its small JSON files only)."""
        path = self.paths[run_id]
        entry: dict[str, Any] = {"id": run_id, "name": path.name}
        try:
            if has_checkpoints(path):
                meta = json.loads((path / "checkpoints" / "latest.json").read_text())
                cfg = meta["config"]
            else:  # genlab export: the config, its "genlab" record holds the step
                cfg = json.loads((path / "config.json").read_text())
                meta = {"step": cfg["genlab"]["step"]}
                entry["export"] = True
            lab = lab_of(cfg["model"]["kind"], cfg["model"]["data_shape"])
            entry.update(kind=cfg["model"]["kind"], data=cfg["data"]["name"],
                         step=meta["step"], lab=lab, url=lab_url(run_id, lab))
        except (OSError, ValueError, KeyError, TypeError) as e:
            entry["error"] = f"unreadable: {type(e).__name__}"
        return entry

    def listing(self) -> dict[str, Any]:
        return {"runs": [self.entry(i) for i in range(len(self.paths))],
                "truncated": self.truncated, "max_runs": MAX_RUNS}

    def path_for(self, run_id: int, lab: str) -> Path:
        """The path of run `run_id` if it opens in `lab`; else one line saying why not."""
        if not 0 <= run_id < len(self.paths):
            raise GenlabError(f"no run {run_id}: this hub lists runs 0..{len(self.paths) - 1}"
                              if self.paths else f"no run {run_id}: this hub lists no runs")
        entry = self.entry(run_id)
        if "error" in entry:
            raise GenlabError(f"run {entry['name']} is {entry['error']}")
        if entry["lab"] != lab:
            raise GenlabError(f"run {entry['name']} ({entry['kind']} on {entry['data']}) opens "
                              f"in the {LAB_TITLES[entry['lab']]}, not the {LAB_TITLES[lab]}")
        return self.paths[run_id]


def create_router(run_paths: list[str | Path] = (), runs_dir: str | Path | None = None
                  ) -> APIRouter:
    """The listing's routes; a bad --run / --runs is a GenlabError here, before serving.
    `router.runs`: the RunList (the simulations' router resolves a page's run id with it)."""
    paths, truncated = find_runs(list(run_paths), runs_dir)
    runs = RunList(paths, truncated)
    router = APIRouter()
    router.runs = runs

    @router.get("/runs", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"cache-control": "no-cache"})

    @router.get("/api/runs")
    def listing() -> dict:
        return runs.listing()

    return router
