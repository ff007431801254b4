"""CLI-trained runs in the hub (issue 13 §3): `genlab serve --run RUN` / `--runs DIR`.

Each run opens in the view of the lab that fits it, read through `genlab.load_run` and
`genlab.operations` (no second loader):
    ae / vae        the VAE lab's latent explorer: the codes μ(x) of up to 500 test examples
                    (more than two latent dimensions: their 2-D PCA projection, z = mean +
                    [u, v] · components for a click), click to decode, interpolate two codes
    gan on points   the playground: real and generated points, D's logits on a 40×40 grid
    gan / dcgan     the DCGAN lab: 16 samples, an interpolation between two latents
A run is a run folder or a folder `genlab export` wrote (Hugging Face layout). The folders
are only read (load_run and the data set's loader open files to read); the listing is
bounded (MAX_RUNS folders, looked for one level under DIR).

Routes:
    GET  /runs                      the page (static/sims/runview.js draws it)
    GET  /api/runs                  {"runs": [{id, name, kind, data, step, lab}], "truncated"}
    GET  /api/runs/{id}/view        what the lab shows (above), JSON
    POST /api/runs/{id}/decode      {"z": [u, v]} -> {"image": {shape, data}}
    POST /api/runs/{id}/interpolate {"a": i, "b": j, "steps": n} (test examples a, b; a GAN's
                                    seeds) -> {"images": {shape, data}}
    POST /api/runs/{id}/continue    {"steps": n}: "continue training" — on a copy of the run
                                    in the hub's temporary folder (removed when the hub stops;
                                    the run itself is never written), resumed by genlab.train
                                    for n more steps; the copy joins the list -> {"id", "step"}
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from genlab.errors import GenlabError
from genlab.web.origin import same_origin

MAX_RUNS = 200  # run folders listed under --runs DIR
LOADED = 4  # runs kept loaded at once
SHOWN_CODES = 500
GRID = 40
SAMPLES = 16
MAX_CONTINUE_STEPS = 5000  # steps one "continue training" request may add

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>genlab — trained runs</title>
<link rel="stylesheet" href="/static/sims/sims.css">
<link rel="stylesheet" href="/static/sims/runview.css">
<script type="module" src="/static/sims/runview.js"></script>
</head><body><main class="runs-page">
<h1>genlab — trained runs</h1>
<p class="sim-note">Runs trained with <code>genlab train</code>, opened read-only in the lab
that fits them. <a href="/">The lesson</a></p>
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


def _images(x: torch.Tensor) -> dict[str, Any]:
    """Images in [0, 1] (N, C, H, W) -> {shape, data: uint8 list} for the page."""
    u8 = (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    return {"shape": list(u8.shape), "data": u8.reshape(-1).tolist()}


def lab_of(run) -> str:
    if run.kind in ("ae", "vae"):
        return "vae"
    return "gan2d" if run.data_kind == "points" else "dcgan"


class RunViews:
    """The runs a hub shows, loaded on demand (a few at a time)."""

    def __init__(self, paths: list[Path], truncated: bool = False):
        self.paths, self.truncated = paths, truncated
        self._loaded: OrderedDict[int, tuple[Any, dict]] = OrderedDict()
        self._lock = threading.Lock()
        self._training = threading.Lock()  # one "continue training" at a time
        self.scratch: Path | None = None  # the copies: made at the first, removed by close()

    def close(self) -> None:
        """Remove the copies "continue training" made (the hub calls it when it stops)."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def continue_training(self, run_id: int, steps: int) -> dict[str, Any]:
        """Copy run `run_id` into the scratch folder and resume the copy for `steps` more."""
        import genlab

        run, _ = self.load(run_id)
        if not has_checkpoints(self.paths[run_id]):
            raise GenlabError(f"{self.paths[run_id].name} is a genlab export (weights only): "
                              "continue training the run folder it was exported from")
        if not self._training.acquire(blocking=False):
            raise GenlabError("a run is already training here; wait for it to finish")
        try:
            if self.scratch is None:
                self.scratch = Path(tempfile.mkdtemp(prefix="genlab-runs-"))
            source = self.paths[run_id]
            copy = self.scratch / f"{source.name}-continued-{len(self.paths)}"
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".*.part"))
            target = run.step + steps
            for _ in genlab.train(None, copy, resume=True, overrides={"steps": target}):
                pass
            with self._lock:
                self.paths.append(copy)
                new_id = len(self.paths) - 1
            return {"id": new_id, "step": target, "name": copy.name, "path": str(copy)}
        finally:
            self._training.release()

    def load(self, run_id: int):
        """(run, cache) of run `run_id`; GenlabError when there is no such run."""
        if not 0 <= run_id < len(self.paths):
            raise GenlabError(f"no run {run_id}: the hub shows runs 0..{len(self.paths) - 1}")
        with self._lock:
            if run_id not in self._loaded:
                import genlab

                self._loaded[run_id] = (genlab.load_run(self.paths[run_id]), {})
                while len(self._loaded) > LOADED:
                    self._loaded.popitem(last=False)
            self._loaded.move_to_end(run_id)
            return self._loaded[run_id]

    def listing(self) -> dict[str, Any]:
        import json

        runs = []
        for i, path in enumerate(self.paths):
            entry = {"id": i, "name": path.name}
            try:  # the listing reads the small JSON files only
                if has_checkpoints(path):
                    meta = json.loads((path / "checkpoints" / "latest.json").read_text())
                    cfg = meta["config"]
                else:  # genlab export: the config, its "genlab" record holds the step
                    cfg = json.loads((path / "config.json").read_text())
                    meta = {"step": cfg["genlab"]["step"]}
                    entry["export"] = True
                kind, shape = cfg["model"]["kind"], cfg["model"]["data_shape"]
                entry.update(kind=kind, data=cfg["data"]["name"], step=meta["step"],
                             lab="vae" if kind in ("ae", "vae") else
                             "gan2d" if len(shape) == 1 else "dcgan")
            except (OSError, ValueError, KeyError, TypeError) as e:
                entry["error"] = f"unreadable: {type(e).__name__}"
            runs.append(entry)
        return {"runs": runs, "truncated": self.truncated, "max_runs": MAX_RUNS}

    # -- the views
    @torch.no_grad()
    def view(self, run_id: int) -> dict[str, Any]:
        run, cache = self.load(run_id)
        out = {"id": run_id, "name": self.paths[run_id].name, "kind": run.kind,
               "data": run.dataset, "step": run.step, "lab": lab_of(run),
               "latent_dim": run.latent_dim, "export": not has_checkpoints(self.paths[run_id])}
        if out["lab"] == "vae":
            out.update(self._latent_view(run, cache))
        elif out["lab"] == "gan2d":
            out.update(self._points_view(run))
        else:
            import genlab

            out["samples"] = _images(genlab.sample(run, SAMPLES, seed=0))
        return out

    def _test_set(self, run, cache):
        if "test" not in cache:
            from genlab.data import load_dataset

            cfg = run.config.data
            ds = load_dataset(cfg.name, split="test", data_dir=cfg.data_dir,
                              image_size=cfg.image_size)
            cache["test"] = (ds.x[:SHOWN_CODES], None if ds.y is None else ds.y[:SHOWN_CODES])
        return cache["test"]

    def _latent_view(self, run, cache) -> dict[str, Any]:
        from genlab import operations

        x, y = self._test_set(run, cache)
        codes = operations.encode(run, x, y if run.num_classes else None)  # (N, L)
        if run.latent_dim > 2:  # PCA: the two directions of most variance of the codes
            mean = codes.mean(0)
            _, _, v = torch.linalg.svd(codes - mean, full_matrices=False)
            components = v[:2]  # (2, L)
            shown = (codes - mean) @ components.T  # (N, 2)
            cache["projection"] = (mean, components)
            projection = {"method": "PCA", "explained": _explained(codes - mean, shown)}
        else:
            shown, projection = codes, None
            cache["projection"] = None
        cache["codes"] = codes
        lo, hi = shown.min(0).values, shown.max(0).values
        center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.1 + 1e-3
        return {"codes": shown.tolist(), "labels": None if y is None else y.tolist(),
                "projection": projection,
                "view": [float(center[0]) - half, float(center[0]) + half,
                         float(center[1]) - half, float(center[1]) + half]}

    def _points_view(self, run) -> dict[str, Any]:
        import genlab
        from genlab import operations

        fake = genlab.sample(run, 1000, seed=0)  # (1000, 2) data coordinates
        real, _ = operations.reference_points(run, 1000)
        both = fake if real is None else torch.cat([fake, real])
        lo, hi = torch.quantile(both, 0.005, dim=0), torch.quantile(both, 0.995, dim=0)
        center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.25 + 0.1
        x0, x1 = float(center[0]) - half, float(center[0]) + half
        y0, y1 = float(center[1]) - half, float(center[1]) + half
        gy, gx = torch.meshgrid(torch.linspace(y1, y0, GRID), torch.linspace(x0, x1, GRID),
                                indexing="ij")  # row 0 = top
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
        d = run.model.discriminator
        pack = run.config.model.pack
        heat = d(run.normalizer.encode(grid).repeat_interleave(pack, 0))  # (GRID², ) logits
        return {"fake": fake.tolist(), "real": None if real is None else real.tolist(),
                "heat": heat.reshape(GRID, GRID).tolist(), "grid": GRID,
                "centered": run.config.loss in ("wgan-gp", "hinge"),
                "view": [x0, x1, y0, y1]}

    @torch.no_grad()
    def decode(self, run_id: int, z: list[float]) -> dict[str, Any]:
        from genlab.operations import decode_latent

        run, cache = self.load(run_id)
        if lab_of(run) != "vae":
            raise GenlabError("decode: this run has no latent map (a GAN); see its samples")
        if "codes" not in cache:
            self.view(run_id)
        point = torch.tensor(z, dtype=torch.float32)
        if cache["projection"] is not None:
            mean, components = cache["projection"]
            if len(z) != 2:
                raise GenlabError(f"decode: give the 2 map coordinates, got {len(z)}")
            point = mean + point @ components  # back from the PCA plane
        elif len(z) != run.latent_dim:
            raise GenlabError(f"decode: this run has {run.latent_dim} latent dimensions, "
                              f"got {len(z)}")
        labels = torch.zeros(1, dtype=torch.long) if run.num_classes else None
        return {"image": _images(decode_latent(run.model, None, point[None], labels,
                                               run.normalizer))}

    @torch.no_grad()
    def interpolate(self, run_id: int, a: int, b: int, steps: int) -> dict[str, Any]:
        from genlab import operations

        run, cache = self.load(run_id)
        if lab_of(run) == "vae":
            if "codes" not in cache:
                self.view(run_id)
            codes = cache["codes"]
            if max(a, b) >= len(codes):
                raise GenlabError(f"interpolate: pick test examples 0..{len(codes) - 1}")
            images = operations.interpolate(run, steps, start=codes[a], end=codes[b],
                                            space="latent")
        elif lab_of(run) == "dcgan":
            # from z ~ N(0, I) to another, both drawn with seed a (genlab interpolate --seed)
            images = operations.interpolate(run, steps, seed=a)
        else:
            raise GenlabError("interpolate: a 2-D GAN's samples are points; see the map")
        return {"images": _images(images)}


def _explained(centered: torch.Tensor, shown: torch.Tensor) -> float:
    total = float((centered ** 2).sum())
    return float((shown ** 2).sum()) / total if total > 0 else 1.0


class DecodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    z: list[float] = Field(min_length=1, max_length=512)


class InterpolateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int = Field(ge=0, le=2**31 - 1)
    b: int = Field(ge=0, le=2**31 - 1)
    steps: int = Field(10, ge=2, le=16)


class ContinueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = Field(ge=1, le=MAX_CONTINUE_STEPS)


def create_router(run_paths: list[str | Path] = (), runs_dir: str | Path | None = None
                  ) -> APIRouter:
    """The runs' routes; a bad --run / --runs is a GenlabError here, before serving."""
    paths, truncated = find_runs(list(run_paths), runs_dir)
    views = RunViews(paths, truncated)
    atexit.register(views.close)  # also when the hub ends without its shutdown
    router = APIRouter()
    router.views = views

    def answer(fn, *args, request: Request | None = None) -> JSONResponse:
        if request is not None and not same_origin(request.scope):  # another site's page
            return JSONResponse({"detail": "cross-origin requests are refused"}, status_code=403)
        try:
            return JSONResponse(fn(*args))
        except GenlabError as e:
            return JSONResponse({"detail": str(e)}, status_code=422)

    @router.get("/runs", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"cache-control": "no-cache"})

    @router.get("/api/runs")
    def listing() -> dict:
        return views.listing()

    @router.get("/api/runs/{run_id}/view")
    def view(run_id: int) -> JSONResponse:
        return answer(views.view, run_id)

    @router.post("/api/runs/{run_id}/decode")
    def decode(run_id: int, body: DecodeBody, request: Request) -> JSONResponse:
        return answer(views.decode, run_id, body.z, request=request)

    @router.post("/api/runs/{run_id}/interpolate")
    def interpolate(run_id: int, body: InterpolateBody, request: Request) -> JSONResponse:
        return answer(views.interpolate, run_id, body.a, body.b, body.steps, request=request)

    @router.post("/api/runs/{run_id}/continue")
    def continue_training(run_id: int, body: ContinueBody, request: Request) -> JSONResponse:
        return answer(views.continue_training, run_id, body.steps, request=request)

    return router
