"""Where data files live, and downloads that never leave a partial or unverified file behind.

Search order for a data set's files: `data_dir` (and `data_dir/<name>`), `$GENLAB_DATA`
(and `$GENLAB_DATA/<name>`), a system location (Debian's /usr/share/datasets/...), then the
download cache (`$GENLAB_DATA`, else `~/.cache/genlab`). With `download=True` a missing file
is fetched from its canonical mirrors into a temporary file, its md5 checked against the
published checksum, and only then renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

from genlab.errors import GenlabError
from genlab.training.atomic import atomic_path

CHUNK = 1 << 20
TIMEOUT_S = 60


def cache_root() -> Path:
    """Where downloads go when no data_dir is given: $GENLAB_DATA, else $XDG_CACHE_HOME/genlab."""
    if os.environ.get("GENLAB_DATA"):
        return Path(os.environ["GENLAB_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "genlab"


def search_dirs(name: str, data_dir: str | Path | None, extra: Sequence[str | Path] = (),
                subdirs: Sequence[str] = ()) -> list[Path]:
    """Candidate folders for data set `name`, in search order, without duplicates."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir).expanduser())
    if os.environ.get("GENLAB_DATA"):
        roots.append(Path(os.environ["GENLAB_DATA"]).expanduser())
    out: list[Path] = []
    for root in roots:
        out += [root, root / name] + [root / s for s in subdirs]
    out += [Path(p) for p in extra]
    out.append(cache_root() / name)
    seen, unique = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def find_file(dirs: Iterable[Path], names: Sequence[str]) -> Path | None:
    """The first existing file `dir/name` (dirs outer, names inner)."""
    for d in dirs:
        for n in names:
            if (d / n).is_file():
                return d / n
    return None


def download_dir(name: str, data_dir: str | Path | None) -> Path:
    return (Path(data_dir).expanduser() / name) if data_dir is not None else cache_root() / name


def file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def download(urls: str | Sequence[str], dest: str | Path, md5: str) -> Path:
    """Fetch `dest` from the first of `urls` whose content has the md5 `md5`.

    Writes to a temporary file beside `dest`, verifies, then renames: `dest` either appears
    complete and verified or not at all. Raises GenlabError listing every mirror's failure.
    """
    dest = Path(dest)
    urls = [urls] if isinstance(urls, str) else list(urls)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GenlabError(f"{dest.parent}: cannot create download folder ({e.strerror or e})") from None
    failures = []
    for url in urls:
        try:
            with atomic_path(dest) as tmp:  # renamed over dest only when the md5 matches
                got = _fetch(url, tmp)
                if got != md5:
                    raise _ChecksumMismatch(got)
            return dest
        except _ChecksumMismatch as e:
            failures.append(f"{url} (checksum mismatch: expected md5 {md5}, got {e.args[0]})")
        except urllib.error.HTTPError as e:
            failures.append(f"{url} (HTTP {e.code} {e.reason})")
        except (urllib.error.URLError, OSError, ValueError) as e:
            failures.append(f"{url} ({getattr(e, 'reason', None) or e})")
    raise GenlabError(f"could not download {dest.name}: tried {'; '.join(failures)}; nothing was saved")


class _ChecksumMismatch(Exception):
    """The downloaded bytes are not the published file (args[0]: their md5)."""


def _fetch(url: str, path: Path) -> str:
    """Stream `url` into the file at `path`; return the md5 of what was written."""
    h = hashlib.md5()
    with open(path, "wb") as out:
        request = urllib.request.Request(url, headers={"User-Agent": "genlab"})
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
            for chunk in iter(lambda: r.read(CHUNK), b""):
                h.update(chunk)
                out.write(chunk)
    return h.hexdigest()
