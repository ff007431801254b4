"""Uploads to the labs (genlab.web.simulations.uploads): every bad kind refused in one line that
names the file and why; good ones read exactly as the library's own readers read them."""

from __future__ import annotations

import asyncio
import io
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from async_helpers import run_coroutine  # noqa: E402

from genlab.data import load_dataset
from genlab.data.folder import load_folder
from genlab.errors import GenlabError
from genlab.web.simulations import uploads
from genlab.web.simulations.gan2d import GanPlayground
from genlab.web.simulations.schemas import SimLimits, parse_config
from genlab.web.simulations.uploads import UploadError, decode, receive

LIM = SimLimits()


def png(value: int = 128, size: tuple[int, int] = (20, 20), mode: str = "L") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, value).save(out, "PNG")
    return out.getvalue()


def digit_like(k: int) -> bytes:
    """A 28×28 grey picture with a bar whose position depends on k (distinct images)."""
    a = np.zeros((28, 28), np.uint8)
    a[4:24, 3 + 2 * (k % 10):6 + 2 * (k % 10)] = 255
    out = io.BytesIO()
    Image.fromarray(a).save(out, "PNG")
    return out.getvalue()


def zipped(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def refused(kind, files, lim=LIM) -> str:
    """The one line an upload gets, from whichever side refuses it."""
    try:
        decode(kind, receive(kind, files, lim).to_message(1), lim)
    except (UploadError, GenlabError) as e:
        line = str(e)
        assert "\n" not in line and "Traceback" not in line
        return line
    raise AssertionError("accepted")


# ---------------------------------------------------------------- CSV (GAN playground)
def test_csv_reads_as_the_csv_data_set_does(tmp_path):
    text = "x,y\n" + "\n".join(f"{np.cos(t):.4f},{np.sin(t):.4f}" for t in range(30)) + "\n"
    (tmp_path / "ring.csv").write_text(text)
    ds = decode("gan2d", receive("gan2d", [("ring.csv", text.encode())], LIM).to_message(1), LIM)
    reference = load_dataset(f"csv:{tmp_path / 'ring.csv'}")
    assert torch.equal(ds.x, reference.x) and ds.x.shape == (30, 2)


@pytest.mark.parametrize("text, why", [
    ("1,2\n3,nan\n" + "0,0\n" * 20, "line 2: expected finite numbers"),
    ("1,2\n3,inf\n" + "0,0\n" * 20, "line 2: expected finite numbers"),
    ("1,2,3\n" + "0,0\n" * 20, "line 1: expected 2 numeric columns, got 3"),
    ("1,2\n" * 5, "5 points, at least 10 needed"),
    ("1,2\nfoo,bar\n", "line 2: expected two numbers"),
])
def test_bad_csv_names_the_file_and_the_line(text, why):
    line = refused("gan2d", [("mine.csv", text.encode())])
    assert line.startswith("mine.csv: ") and why in line


def test_csv_bounds_count_bytes_and_type():
    lim = SimLimits(max_upload_points=50, upload_file_bytes=4096)
    assert "more than 50 points" in refused("gan2d", [("a.csv", b"1,2\n" * 60)], lim)
    assert "at most 4 KiB a file" in refused("gan2d", [("a.csv", b"1,2\n" * 2000)], lim)
    assert "not a CSV file" in refused("gan2d", [("photo.png", png())])
    assert "not a CSV file" in refused("gan2d", [("a.csv", zipped({"a.csv": b"1,2"}))])
    assert "cannot read CSV file (binary data" in refused("gan2d", [("a.csv", b"\0\1\2" * 9)])
    assert "not UTF-8" in refused("gan2d", [("a.csv", b"\xff\xfe1,2")])
    assert "one CSV file" in refused("gan2d", [("a.csv", b"1,2"), ("b.csv", b"1,2")])


# ---------------------------------------------------------------- images (VAE, DCGAN labs)
def test_image_zip_reads_as_the_folder_data_set_does(tmp_path):
    members = {f"{c}/{k}.png": digit_like(k + 3 * (c == "b")) for c in ("a", "b") for k in range(6)}
    members["notes.txt"] = b"a zip may hold other files, as a folder may"
    members["__MACOSX/._a.png"] = b"junk"
    for name, data in members.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    ds = decode("vae", receive("vae", [("set.zip", zipped(members))], LIM).to_message(1), LIM)
    reference = load_folder(tmp_path, image_size=28, channels=1, test_fraction=0.0)
    assert ds.x.shape == (12, 1, 28, 28) and ds.x.dtype == torch.uint8
    assert torch.equal(ds.x, reference.x) and torch.equal(ds.y, reference.y)
    assert ds.class_names == ["a", "b"] and ds.name == "upload:set.zip"


def test_several_image_files_resize_like_folder(tmp_path):
    files = [(f"{k}.png", png(10 * k, (40, 60), "RGB")) for k in range(8)]
    for name, data in files:
        (tmp_path / name).write_bytes(data)
    ds = decode("dcgan", receive("dcgan", files, LIM).to_message(1), LIM)
    reference = load_folder(tmp_path, image_size=28, channels=1, test_fraction=0.0)
    assert torch.equal(ds.x, reference.x) and ds.y is None


def test_corrupt_image_names_the_member():
    members = {f"{k}.png": digit_like(k) for k in range(9)}
    members["3.png"] = members["3.png"][:60]  # truncated
    line = refused("vae", [("set.zip", zipped(members))])
    assert line.startswith("set.zip/3.png: not a readable image") and "--strict" not in line
    loose = refused("vae", [(f"{k}.png", members[f"{k}.png"]) for k in range(9)])
    assert loose.startswith("3.png: not a readable image")


def test_wrong_type_too_few_and_too_many():
    assert refused("vae", [("notes.txt", b"hello")]).startswith("notes.txt: not an image or a zip")
    assert "1 image(s), at least 8 needed" in refused("vae", [("a.png", png())])
    lim = SimLimits(max_upload_images=5)
    assert "6 files, at most 5" in refused("vae", [(f"{k}.png", png()) for k in range(6)], lim)
    many = zipped({f"{k}.png": png() for k in range(6)})
    assert "6 files in the zip, at most 5" in refused("vae", [("m.zip", many)], lim)
    assert "not a readable zip file" in refused("vae", [("m.zip", b"PK\x03\x04 not really")])
    assert "one zip, or several image files" in refused("vae", [("m.zip", many), ("a.png", png())])


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/etc/evil.png",
                                  "C:/evil.png", "..\\evil.png"])
def test_path_traversal_names_in_a_zip_are_refused(name):
    members = {f"{k}.png": png() for k in range(8)}
    members[name] = png()
    line = refused("vae", [("set.zip", zipped(members))])
    assert line.startswith("set.zip: unsafe name") and "names must stay inside it" in line


def test_zip_bombs_are_refused_from_the_directory_before_inflating():
    lim = SimLimits(upload_file_bytes=1024 * 1024, upload_unpacked_bytes=4 * 1024 * 1024)
    one = zipped({"big.png": bytes(50 * 1024 * 1024)})  # 50 MiB of zeros in ~50 KiB
    assert len(one) < 100_000
    assert "big.png: 50 MiB uncompressed, at most 1 MiB a file" in refused("vae", [("b.zip", one)], lim)
    many = zipped({f"{k}.png": bytes(900 * 1024) for k in range(10)})  # each fits, not together
    line = refused("vae", [("b.zip", many)], lim)
    assert "b.zip: 8.79 MiB uncompressed, at most 4 MiB (a zip bomb?)" in line


def test_a_zip_directory_that_lies_is_caught_while_reading():
    data = bytearray(zipped({"a.png": bytes(200_000)}))
    # the central directory's uncompressed size (offset 24 of its entry) claims 100 bytes
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = struct.pack("<I", 100)
    line = refused("vae", [("lie.zip", bytes(data))])
    assert line.startswith("lie.zip/a.png: ") and ("inflates beyond" in line or "unreadable" in line)


def test_decompression_bomb_refused_from_the_header():
    small = bytearray(png(size=(4, 4)))
    # IHDR (after the 8-byte signature and 8 bytes of length+type): claim 5000 × 5000 pixels
    small[16:24] = struct.pack(">II", 5000, 5000)
    small[29:33] = struct.pack(">I", zlib.crc32(bytes(small[12:29])))
    files = [(f"{k}.png", png()) for k in range(8)] + [("bomb.png", bytes(small))]
    line = refused("vae", files)
    assert line == ("bomb.png: not a readable image (5000×5000 pixels, more than the "
                    "16,777,216 allowed)")


def test_body_bound_checked_on_the_header_and_on_the_bytes():
    lim = SimLimits(upload_bytes=1000)

    async def stream(n):
        for _ in range(n):
            yield b"x" * 1000

    with pytest.raises(UploadError, match="an upload may have at most 1000 bytes") as e:
        run_coroutine(uploads.read_body(stream(1), str(10**9), lim))
    assert e.value.status == 413
    with pytest.raises(UploadError) as e:  # no (or a lying) Content-Length: the bytes count
        run_coroutine(uploads.read_body(stream(200), "10", lim))
    assert e.value.status == 413
    assert run_coroutine(uploads.read_body(stream(3), None, lim)) == b"x" * 3000


# ---------------------------------------------------------------- a failed upload keeps the data
def test_a_failing_upload_keeps_the_previous_data():
    sim = GanPlayground(parse_config("gan2d", {"data": "uploaded", "width": 16, "batch": 8}), LIM)
    assert sim.live is None  # waiting for a file
    with pytest.raises(GenlabError, match="load a CSV file"):
        sim.train_step()
    good = decode("gan2d", {"label": "g.csv", "files": [("g.csv", b"3,4\n" * 12)]}, LIM)
    uploads.apply(sim, good)
    assert sim.live is not None and np.allclose(sim.real, [3, 4])
    from genlab.data import points_dataset

    with pytest.raises(GenlabError, match="too few examples"):
        uploads.apply(sim, points_dataset([[1.0, 1.0]], name="one"))
    assert sim.uploaded is good and np.allclose(sim.real, [3, 4])
    sim.train_step()  # still trains on the previous data


def test_the_form_parser_keeps_files_in_memory(monkeypatch):
    """A part larger than Starlette's 1 MiB spool would roll over to a temporary file: ours
    never does (the data stays in memory, nowhere else)."""
    import tempfile

    import starlette.formparsers as formparsers
    from starlette.datastructures import Headers

    rolled = []

    class Watched(tempfile.SpooledTemporaryFile):
        def rollover(self):
            rolled.append(self._max_size)
            super().rollover()

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", Watched)
    content = b"1,2\n" * 500_000  # 2 MB
    body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
            b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--B--\r\n")
    headers = Headers({"content-type": "multipart/form-data; boundary=B"})
    files = run_coroutine(uploads.parse_form(headers, body, LIM))
    assert files == [("a.csv", content)] and rolled == []

    async def stock():  # Starlette's own parser on the same body does roll over: the check bites
        async def replay():
            yield body
        form = await formparsers.MultiPartParser(headers, replay()).parse()
        await form.close()

    run_coroutine(stock())
    assert rolled == [1024 * 1024]


def test_an_upload_waiting_when_the_page_closes_gets_one_line():
    class Session:
        def send(self, *cmd):
            self.sent = cmd

    async def scenario():
        slots = uploads.Slots()
        slot = slots.open("gan2d")
        session = Session()

        async def start():
            return session

        slot.start = start
        waiting = asyncio.create_task(slot.deliver(uploads.Upload("a.csv", [("a.csv", b"1,2")])))
        await asyncio.sleep(0.01)
        assert session.sent[0] == "upload" and session.sent[1]["label"] == "a.csv"
        slots.close(slot)  # the WebSocket closed before the worker answered
        with pytest.raises(UploadError, match="the simulation stopped before it read") as e:
            await waiting
        assert e.value.status == 409 and len(slots) == 0 and slots.get(slot.token) is None

    run_coroutine(scenario())
