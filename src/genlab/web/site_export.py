"""`genlab export-site DIR`: the whole lesson as static files, for any web server or a disk.

What the hub renders on the server (prose, figures, formulas, code, the quiz's forms) is the
page `lesson.build_page()` builds, written once. What the page would ask the server for is
written beside it as data the page loads with <script src> (a page opened from disk, file://,
may not fetch files; module scripts are refused there too, hence site_bundle):

    index.html              the lesson page, relative links only
    static/site.js          static/**/*.js as one classic script (site_bundle.bundle)
    static/site-data.js     window.GENLAB_SITE = {quiz: {orders}, architecture: {key: diagram}}
                            - quiz.orders: the options of every question in the order
                              GET /api/quiz?learner=ID gives, for SITE_LEARNERS ids
                            - architecture: diagrams.describe() of each simulation's model at
                              its defaults and at every recorded run's settings
    static/*.css, favicon   as the hub serves them
    recordings/SIM-NAME.js  one recorded training run each (recordings.py), base64 of gzip
    genlab-site.json        what was written: version, recordings, sizes (also marks the
                            folder as an export, which a later export may overwrite)

No request leaves the page: no /api, no /ws. Size: SITE_LIMIT_BYTES at most (checked).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.training.atomic import atomic_write_bytes, check_writable

STATIC = Path(__file__).resolve().parent / "static"
MARKER = "genlab-site.json"
SITE_LEARNERS = 48  # learner ids whose option orders the site carries
SITE_LIMIT_BYTES = 30 * 1024 * 1024
def copied_files() -> list[str]:
    """The static files the site copies as they are: every stylesheet the page's scripts may
    link (read from the folder, so a new one is never left out) and the icon."""
    return sorted(str(p.relative_to(STATIC)) for p in STATIC.rglob("*.css")) + ["favicon.svg"]
NOTICE = ('<p class="site-notice" role="note">This copy of the lesson needs no server: the '
          'simulations are <strong>recordings of real training runs</strong>, played back. To '
          'train them live and change their settings: <code>pip install genlab</code>, then '
          '<code>genlab serve</code>.</p>')


def add_arguments(p) -> None:
    p.add_argument("dir", metavar="DIR", help="folder to write the site into (created; an "
                   "earlier export there is replaced, any other non-empty folder refused)")
    p.add_argument("--fast", action="store_true", help="record a few steps per simulation "
                   "instead of the runs the lesson discusses (seconds instead of minutes; for "
                   "checking the site, not for readers)")


def _js_data(name: str, value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return f"window.{name} = {text};\n".encode()


def arch_key(sim: str, config: dict[str, Any]) -> str:
    """What static/diagrams.js archKey computes: the sim and its model-shaping settings."""
    from genlab.web.simulations.schemas import field_list

    shaping = [config.get(f["name"], f["value"]) for f in field_list(sim) if f.get("shapes_model")]
    return f"{sim}:{json.dumps(shaping, separators=(',', ':'), ensure_ascii=False)}"


def _param(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def architectures(recorded: list[dict]) -> dict[str, dict]:
    """Each diagram the site can show: defaults, and the settings of every recording."""
    from genlab.web import diagrams
    from genlab.web.lesson import DIAGRAM_CAPTIONS

    out = {}
    configs = [(sim, {}) for sim in DIAGRAM_CAPTIONS] + [
        (r["sim"], r["config"]) for r in recorded if r["sim"] in DIAGRAM_CAPTIONS]
    for sim, config in configs:
        key = arch_key(sim, config)
        if key not in out:
            out[key] = diagrams.describe(sim, {k: _param(v) for k, v in config.items()})
    return out


def quiz_orders() -> dict[str, list[dict]]:
    """{learner id: the questions with their options in that learner's order}: quiz.served."""
    from genlab.web.content import quiz

    orders = {}
    for i in range(SITE_LEARNERS):
        learner = hashlib.sha256(f"genlab-site-learner-{i}".encode()).hexdigest()[:16]
        orders[learner] = [{"id": q["id"], "options": [{"id": o["id"]} for o in q["options"]]}
                           for q in quiz.served(learner)]
    return orders


def _page(recorded: list[dict]) -> str:
    from genlab.web import lesson

    page = lesson.build_page()
    scripts = ['<script defer src="static/site-data.js"></script>']
    scripts += [f'<script defer src="recordings/{html.escape(_file(r))}"></script>' for r in recorded]
    scripts.append('<script defer src="static/site.js"></script>')
    swaps = [  # (server's text, the site's, required)
        ('<link rel="icon" href="/static/favicon.svg"', '<link rel="icon" href="static/favicon.svg"', True),
        ('<link rel="stylesheet" href="/static/hub.css">',
         '<link rel="stylesheet" href="static/hub.css">', True),
        ('<script type="module" src="/static/hub.js"></script>', "\n".join(scripts), True),
        ('<header class="hero">', f'<header class="hero">\n  {NOTICE}', True),
        ("served locally, nothing leaves this\nmachine", "a static copy: nothing leaves this page", False),
    ]
    for old, new, required in swaps:
        if required and old not in page:
            raise GenlabError(f"the lesson page changed: export-site cannot find {old[:50]!r}")
        page = page.replace(old, new, 1)
    for server_only in ('"/static/', '"/api/', '"/ws/'):
        if server_only in page:
            raise GenlabError(f"the lesson page links to the server ({server_only[1:]}...): "
                              f"export-site cannot make it static")
    return page


def _file(r: dict) -> str:
    return f"{r['sim']}-{r['name']}.js"


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise GenlabError(f"DIR {str(out)!r} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise GenlabError(f"DIR {str(out)!r} is not empty and holds no earlier export "
                          f"({MARKER}): choose an empty or new folder")
    check_writable(out, folder=True)


def export_site(out_dir: str | Path, fast: bool = False,
                say: Callable[[str], None] = lambda s: None) -> dict:
    """Write the site into `out_dir`; returns what genlab-site.json records."""
    from genlab import __version__
    from genlab.web import recordings
    from genlab.web.site_bundle import bundle

    out = Path(out_dir)
    _prepare(out)
    t0 = time.perf_counter()
    recorded = recordings.record_all(recordings.plan(fast=fast), say)
    files: dict[str, bytes] = {
        "index.html": _page(recorded).encode(),
        "static/site.js": bundle(STATIC).encode(),
        "static/site-data.js": _js_data("GENLAB_SITE", {
            "quiz": {"orders": quiz_orders()}, "architecture": architectures(recorded)}),
    }
    for name in copied_files():
        files[f"static/{name}"] = (STATIC / name).read_bytes()
    for r in recorded:
        meta = {k: r[k] for k in ("sim", "name", "label", "preset", "config", "steps", "frames")}
        meta["data"] = base64.b64encode(r["packed"]).decode("ascii")
        files[f"recordings/{_file(r)}"] = (
            b"(window.GENLAB_RECORDINGS = window.GENLAB_RECORDINGS || []).push("
            + json.dumps(meta, ensure_ascii=True, separators=(",", ":")).encode() + b");\n")
    total = sum(len(b) for b in files.values())
    if total > SITE_LIMIT_BYTES:
        raise GenlabError(f"the site would be {total / 2**20:.1f} MiB, over the "
                          f"{SITE_LIMIT_BYTES / 2**20:.0f} MiB limit: record fewer frames")
    summary = {"genlab": __version__, "fast": fast, "bytes": total,
               "seconds": round(time.perf_counter() - t0, 1),
               "recordings": [{k: r[k] for k in ("sim", "name", "label", "steps", "frames")}
                              | {"bytes": len(files[f"recordings/{_file(r)}"]),
                                 "seconds": round(r["seconds"], 1)} for r in recorded]}
    stale = out / "recordings"
    if stale.is_dir():  # an earlier export's runs that this one does not have
        keep = {f"recordings/{_file(r)}" for r in recorded}
        for f in stale.glob("*.js"):
            if f"recordings/{f.name}" not in keep:
                f.unlink()
    for rel, data in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    atomic_write_bytes(out / MARKER, (json.dumps(summary, indent=2) + "\n").encode())
    return summary


def run_command(args) -> int:
    import sys

    def say(line: str) -> None:
        sys.stderr.write(f"genlab: {line}\n")

    summary = export_site(args.dir, fast=args.fast, say=say)
    index = (Path(args.dir) / "index.html").resolve()
    print(f"wrote the lesson site: {index} ({summary['bytes'] / 2**20:.1f} MiB, "
          f"{len(summary['recordings'])} recordings, {summary['seconds']:.0f} s). Open it from "
          f"disk or put the folder on any web server.")
    return 0
