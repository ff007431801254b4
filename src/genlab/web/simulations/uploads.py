"""Your own data in the labs: a CSV of 2-D points (GAN playground) or a small image set (VAE
and DCGAN labs), uploaded, bounded and checked twice, kept only in memory.

How it is sent: one HTTP POST per upload (multipart form, field "file", one CSV, one zip or
several image files) to /api/sim/upload, tied to a live WebSocket session by the token of its
"hello" message (header X-Genlab-Upload) and refused from another site's page
(origin.same_origin). Not WebSocket messages: those stay bounded at 64 KiB
(protocol.MAX_MESSAGE_BYTES); a POST has its own bound (SimLimits.upload_bytes), checked on
Content-Length and again on the bytes actually read, and needs no chunk reassembly.

1. The server (this process, no torch; `receive`): the body's size, the form's parts (parsed
   by python-multipart in memory: the spool never rolls over to disk), each file's size, their
   count; a zip's directory (member count, each uncompressed size and their sum, unsafe names
   such as ../x or /etc/x, encryption) before anything is inflated, then each member read with
   a bound on the bytes that really come out (a directory may lie).
2. The worker (`decode`, in the simulation's process): the library's own readers parse —
   genlab.data.toy2d.parse_points_csv (2 finite numbers a line, count bounds) and
   genlab.data.folder.load_images (strict, image_size 28, grey: what `--data folder:PATH
   --image-size 28 --channels 1` loads; each image's pixel count checked from its header
   before it is decoded, a decompression bomb refused).
Each refusal is one GenlabError line naming the file (and the member of a zip) and why; the
simulation keeps its previous data (`apply` restores it when the new data cannot train).
The data lives in the worker's memory and, to restart a stopped worker, in the connection's
`Slot` in the server; both go when the page's WebSocket closes. Nothing is written to disk.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import zipfile
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from genlab.web.simulations.schemas import MessageError, SimLimits

FIELD = "file"
TOKEN_HEADER = "x-genlab-upload"
URL = "/api/sim/upload"
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and part headers on top of the files
MIN_POINTS = 10  # as many as the playground wants drawn (gan2d.MIN_DRAWN)
MIN_IMAGES = 8  # the VAE lab shows 8 reconstructions
IMAGE_SIZE = 28  # both image labs train 28×28 grey models
ROOT_CLASS = "(top level)"  # the class of images lying outside any sub-folder
VERDICT_SECONDS = 60.0  # the worker decodes and rebuilds within this, or the POST says so
IMAGE_LABS = ("vae", "dcgan")
UPLOAD_LABS = ("gan2d", *IMAGE_LABS)


class UploadError(MessageError):
    """An upload refused: `str()` is the one line the page shows. `status`: the HTTP code."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _mib(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{n / 2**20:.3g} MiB" if n >= 2**20 else f"{n / 1024:.3g} KiB"


# ---------------------------------------------------------------- 1. the server's checks
async def read_body(stream, content_length: str | None, lim: SimLimits) -> bytes:
    """The request body, refused once it passes the bound (never buffered beyond it)."""
    bound = lim.upload_bytes + FORM_OVERHEAD
    too_big = UploadError(f"an upload may have at most {_mib(lim.upload_bytes)}", status=413)
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise UploadError("bad Content-Length header") from None
        if declared > bound:
            raise too_big
    parts, size = [], 0
    async for chunk in stream:
        size += len(chunk)
        if size > bound:
            raise too_big
        parts.append(chunk)
    return b"".join(parts)


class _InMemoryParts(MultiPartParser):
    """Starlette's multipart parser with a spool larger than any body we accept: file parts
    stay in memory, never in a temporary file."""

    spool_max_size = SimLimits.upload_bytes + FORM_OVERHEAD + 1


async def parse_form(headers, body: bytes, lim: SimLimits) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every file in the form's "file" field."""
    if not headers.get("content-type", "").startswith("multipart/form-data"):
        raise UploadError("send the files as multipart/form-data (field \"file\")", status=415)

    async def replay():
        yield body

    parser = _InMemoryParts(headers, replay(), max_files=lim.max_upload_images,
                            max_fields=4, max_part_size=1024)
    parser.spool_max_size = max(parser.spool_max_size, len(body) + 1)
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise UploadError(f"unreadable upload: {e}") from None
    files = []
    for value in form.getlist(FIELD):
        if isinstance(value, UploadFile):
            files.append((PurePosixPath((value.filename or "upload").replace("\\", "/")).name,
                          await value.read()))
    await form.close()
    if not files:
        raise UploadError("no file in the upload (choose a file first)")
    return files


def _is_zip(name: str, data: bytes) -> bool:
    return name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04"


def _unsafe(name: str) -> bool:
    """A member name that would leave the folder it is extracted to (zip slip)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return (name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0])
            or "\0" in name)


def _hidden(name: str) -> bool:
    """Skipped like hidden files of a folder (folder.list_images), and macOS's __MACOSX."""
    return any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(name).parts)


def unzip(name: str, data: bytes, lim: SimLimits) -> list[tuple[str, bytes]]:
    """The members of zip `name`, checked on its directory before anything is inflated."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as e:
        raise UploadError(f"{name}: not a readable zip file ({e})") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        for info in infos:
            if _unsafe(info.filename):
                raise UploadError(f"{name}: unsafe name {info.filename!r:.80} in the zip "
                                  f"(names must stay inside it)")
        infos = [i for i in infos if not _hidden(i.filename)]
        if len(infos) > lim.max_upload_images:
            raise UploadError(f"{name}: {len(infos)} files in the zip, at most "
                              f"{lim.max_upload_images}", status=413)
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise UploadError(f"{name}/{info.filename}: encrypted (use a plain zip)")
            if info.file_size > lim.upload_file_bytes:
                raise UploadError(f"{name}/{info.filename}: {_mib(info.file_size)} uncompressed, "
                                  f"at most {_mib(lim.upload_file_bytes)} a file", status=413)
            total += info.file_size
        if total > lim.upload_unpacked_bytes:
            raise UploadError(f"{name}: {_mib(total)} uncompressed, at most "
                              f"{_mib(lim.upload_unpacked_bytes)} (a zip bomb?)", status=413)
        out, read = [], 0
        for info in infos:
            try:
                with zf.open(info) as member:  # the directory may lie: bound what comes out
                    content = member.read(min(info.file_size, lim.upload_file_bytes) + 1)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
                    EOFError, OSError, ValueError) as e:
                raise UploadError(f"{name}/{info.filename}: unreadable in the zip ({e})") from None
            read += len(content)
            if len(content) > info.file_size or read > lim.upload_unpacked_bytes:
                raise UploadError(f"{name}/{info.filename}: inflates beyond the size its zip "
                                  f"directory states (a zip bomb?)", status=413)
            out.append((info.filename.replace("\\", "/"), content))
    if not out:
        raise UploadError(f"{name}: the zip holds no files")
    return sorted(out)  # in name order, as folder.list_images lists a folder


@dataclass
class Upload:
    """What passed the server's checks: `label` (what the page calls it), `files` (name, bytes)
    — a CSV, or the images (a zip's members under their names in it)."""

    label: str
    files: list[tuple[str, bytes]]
    zipped: bool = False

    def to_message(self, upload_id: int) -> dict[str, Any]:
        return {"id": upload_id, "label": self.label, "files": self.files, "zipped": self.zipped}


def receive(kind: str, files: list[tuple[str, bytes]], lim: SimLimits) -> Upload:
    """The server's checks of an upload to simulation `kind` (no decoding: that is `decode`)."""
    if kind not in UPLOAD_LABS:
        raise UploadError(f"the {kind} simulation takes no uploads", status=404)
    total = sum(len(d) for _, d in files)
    if total > lim.upload_bytes:
        raise UploadError(f"the upload has {_mib(total)}, at most {_mib(lim.upload_bytes)}",
                          status=413)
    for name, data in files:
        if not data:
            raise UploadError(f"{name}: empty file")
        if len(data) > lim.upload_file_bytes:
            raise UploadError(f"{name}: {_mib(len(data))}, at most {_mib(lim.upload_file_bytes)} "
                              f"a file", status=413)
    if kind == "gan2d":
        if len(files) != 1:
            raise UploadError(f"choose one CSV file of points (got {len(files)} files)")
        name, data = files[0]
        if not name.lower().endswith((".csv", ".txt")) or _is_zip(name, data):
            raise UploadError(f"{name}: not a CSV file (the playground takes a .csv with two "
                              f"numbers a line: x,y)", status=415)
        return Upload(name, files)
    zips = [(n, d) for n, d in files if _is_zip(n, d)]
    if zips:
        if len(files) != 1:
            raise UploadError("choose one zip, or several image files, not both")
        return Upload(zips[0][0], unzip(*zips[0], lim), zipped=True)
    if len(files) > lim.max_upload_images:
        raise UploadError(f"{len(files)} files, at most {lim.max_upload_images}", status=413)
    label = files[0][0] if len(files) == 1 else f"{len(files)} files"
    return Upload(label, sorted(files))


# ---------------------------------------------------------------- 2. the worker's decoding
def decode(kind: str, message: dict[str, Any], lim: SimLimits):
    """The Dataset of an upload that passed `receive`, read by the library's own readers."""
    from genlab.data.folder import EXTENSIONS, STRICT_NOTE, load_images
    from genlab.data.toy2d import parse_points_csv
    from genlab.errors import GenlabError

    label, files = message["label"], message["files"]
    if kind == "gan2d":
        ds = parse_points_csv(files[0][1], label, max_points=lim.max_upload_points)
        if len(ds) < MIN_POINTS:
            raise GenlabError(f"{label}: {len(ds)} points, at least {MIN_POINTS} needed")
        return ds
    zipped = bool(message.get("zipped"))
    images, other = [], []
    for name, data in files:
        (images if PurePosixPath(name).suffix.lower() in EXTENSIONS else other).append((name, data))
    if other and not (zipped and images):  # a zip may hold other files; loose ones: images
        raise GenlabError(f"{other[0][0]}: not an image or a zip (choose "
                          f"{', '.join(sorted(EXTENSIONS))} files, or one .zip of them)")
    if len(images) < MIN_IMAGES:
        raise GenlabError(f"{label}: {len(images)} image(s), at least {MIN_IMAGES} needed")
    try:
        return load_images(images, f"upload:{label}", "train", image_size=IMAGE_SIZE,
                           channels=1, test_fraction=0.0, strict=True,
                           max_pixels=lim.max_image_pixels, root_class=ROOT_CLASS,
                           where=label if zipped else "")
    except GenlabError as e:
        raise GenlabError(str(e).removesuffix(STRICT_NOTE)) from None


def apply(sim, dataset) -> None:
    """Give simulation `sim` the uploaded `dataset`; when it trains on uploads now, rebuild
    it — and if that fails, put the previous data back before the error goes to the page."""
    from genlab.errors import GenlabError

    if getattr(sim, "seed", None) is not None:  # a CLI-trained run trains on its own data
        raise GenlabError(f"run {sim.seed.name} is open in this lab: choose the lab's own "
                          "model (Open a trained run) to train on your data")
    previous = sim.uploaded
    sim.uploaded = dataset
    if sim.cfg.data == "uploaded":
        try:
            sim.build(sim.cfg)
        except Exception:
            sim.uploaded = previous
            sim.build(sim.cfg)
            raise


def summary(dataset) -> str:
    if dataset.kind == "points":
        return f"{dataset.name}: {len(dataset)} points"
    _, _, h, w = dataset.x.shape
    classes = f" in {dataset.num_classes} classes" if dataset.num_classes else ""
    label = dataset.name.removeprefix("upload:")
    named = "" if label == f"{len(dataset)} files" else f"{label}: "  # several loose files
    return f"{named}{len(dataset)} images{classes}, resized to {h}×{w} grey"


# ---------------------------------------------------------------- the sessions' slots
@dataclass
class Slot:
    """One WebSocket connection's upload slot: its token, and a way to its worker."""

    kind: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    start: Callable[[], Awaitable[Any]] | None = None  # the connection's session, started
    accepted: dict[str, Any] | None = None  # the last upload its worker took (for a restart)
    pending: dict[int, tuple[dict[str, Any], asyncio.Future]] = field(default_factory=dict)
    ids: int = 0

    async def deliver(self, upload: Upload) -> dict[str, Any]:
        """Send `upload` to the worker and wait for its verdict {"ok", "message"}."""
        session = await self.start()
        self.ids += 1
        message = upload.to_message(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[self.ids] = (message, future)
        session.send("upload", message)
        try:
            return await asyncio.wait_for(future, VERDICT_SECONDS)
        except asyncio.TimeoutError:
            raise UploadError("the simulation did not answer in time; try again",
                              status=504) from None
        finally:
            self.pending.pop(message["id"], None)

    def verdict(self, reply: dict[str, Any]) -> None:
        """The worker's {"type": "upload", "id", "ok", "message"} reply."""
        message, future = self.pending.get(reply.get("id"), (None, None))
        if message is not None and reply.get("ok"):
            self.accepted = message
        if future is not None and not future.done():
            future.set_result({"ok": bool(reply.get("ok")), "message": reply.get("message")})

    def close(self) -> None:
        self.accepted = None
        for _, future in self.pending.values():
            if not future.done():
                future.set_exception(UploadError(
                    "the simulation stopped before it read the upload; press Play, then load "
                    "the file again", status=409))
        self.pending.clear()


class Slots:
    """The open connections' slots by token: an upload reaches only a live session."""

    def __init__(self):
        self._slots: dict[str, Slot] = {}

    def open(self, kind: str) -> Slot:
        slot = Slot(kind)
        self._slots[slot.token] = slot
        return slot

    def get(self, token: str | None) -> Slot | None:
        return self._slots.get(token) if token else None

    def close(self, slot: Slot) -> None:
        self._slots.pop(slot.token, None)
        slot.close()

    def __len__(self) -> int:
        return len(self._slots)
