"""The hub's ES modules (static/**/*.js) as one classic script, for the static site.

Chromium refuses module scripts from file:// (their origin is opaque, so the CORS check fails),
so a page opened from disk must load classic scripts. This turns each module into a function
registered under its path (relative to static/) and run once, on first use, as modules are:

    import { a, b as c } from "./x.js";   ->  const { a, b: c } = require("x.js");
    export function f / class C / const k  ->  the same without `export`; exported at the end
    import("./x.js") (dynamic)             ->  a promise of require("x.js")
    import.meta.url                        ->  the module's URL next to the page

Any other import or export form is refused (GenlabError naming the file and line), so a
change to the JavaScript that this does not understand fails the export, never the page.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

from genlab.errors import GenlabError

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";\s*$')
_EXPORT = re.compile(r"^export\s+(async\s+function\*?|function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)")
_LOOSE = re.compile(r"^\s*(import|export)\b")

RUNTIME = """(function () {
  "use strict";
  var defined = {}, done = {};
  function resolve(base, spec) {
    if (spec.indexOf("/static/") === 0) return spec.slice(8);
    var parts = base.split("/").slice(0, -1).concat(spec.split("/")), out = [];
    parts.forEach(function (p) { if (p === "..") out.pop(); else if (p !== "." && p !== "") out.push(p); });
    return out.join("/");
  }
  function require(path) {
    if (!(path in done)) {
      if (!defined[path]) throw new Error("genlab site: no module " + path);
      done[path] = {};
      var meta = new URL("static/" + path, document.baseURI).href;
      done[path] = defined[path](require, function (spec) {
        return Promise.resolve().then(function () { return require(resolve(path, spec)); });
      }, meta);
    }
    return done[path];
  }
  window.__genlabDefine = function (path, body) { defined[path] = body; };
  window.__genlabRequire = require;
})();
"""


def _convert(path: str, text: str) -> str:
    exports, lines = [], []
    for n, line in enumerate(text.splitlines(), 1):
        m = _IMPORT.match(line)
        if m:
            names = ", ".join(re.sub(r"\s+as\s+", ": ", x.strip())
                              for x in m.group(1).split(",") if x.strip())
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), m.group(2)))
            lines.append(f"const {{ {names} }} = __require({json.dumps(target)});")
            continue
        m = _EXPORT.match(line)
        if m:
            exports.append(m.group(2))
            lines.append(line[len("export"):].lstrip())
            continue
        if _LOOSE.match(line):
            raise GenlabError(f"static/{path}, line {n}: an import/export the site bundler "
                              f"does not handle: {line.strip()[:80]}")
        lines.append(line)
    body = "\n".join(lines)
    body = re.sub(r"(?<![\w$.])import\(", "__import(", body)
    body = body.replace("import.meta.url", "__metaUrl")
    if re.search(r"(?<![\w$.])import\s*[.({]", body):
        raise GenlabError(f"static/{path}: an import the site bundler does not handle")
    ret = ", ".join(exports)
    return (f"__genlabDefine({json.dumps(path)}, function (__require, __import, __metaUrl) {{\n"
            f'"use strict";\n{body}\nreturn {{ {ret} }};\n}});\n')


def bundle(static_dir: Path, entry: str = "hub.js", skip: tuple[str, ...] = ("sims/standalone.js",)) -> str:
    """Every module under `static_dir` in one classic script that runs `entry`."""
    parts = [RUNTIME]
    for file in sorted(static_dir.rglob("*.js")):
        rel = file.relative_to(static_dir).as_posix()
        if rel in skip:
            continue
        parts.append(f"// ---- static/{rel}\n" + _convert(rel, file.read_text(encoding="utf-8")))
    parts.append(f"window.__genlabRequire({json.dumps(entry)});\n")
    return "\n".join(parts)
