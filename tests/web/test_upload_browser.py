"""Your own data in the labs, in a real browser (chromium through Playwright): a CSV picked
into the GAN playground and an image zip into the VAE lab train, what the page shows comes
from them, and bad files (dropped or picked) get one line while training goes on."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw

from genlab.web.simulations.schemas import SimLimits
from genlab.web.simulations.uploads import decode, receive

pytestmark = pytest.mark.browser


def sim_errors(page) -> list[str]:
    """Uncaught exceptions and the simulations' console errors, less the network log of the
    uploads refused on purpose (a 4xx answer)."""
    return [e for e in page.console_errors
            if e.startswith("pageerror") or (any(p in e for p in ("/static/sims/", "/ws/sim/"))
                                             or ("/api/sim/" in e and "status of 4" not in e))]


def ring_csv(n: int = 60) -> str:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return "x,y\n" + "".join(f"{6 + np.cos(a):.4f},{-2 + 0.5 * np.sin(a):.4f}\n" for a in t)


def stroke_zip() -> bytes:
    """24 synthetic digit-like 28×28 pictures in three classes: 0 (a ring), 1 (a bar), 7."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in range(8):
            for name, draw in (("zero", lambda d, s: d.ellipse((7 + s, 4, 21 - s, 24), outline=255, width=3)),
                               ("one", lambda d, s: d.line((14 + s - 2, 4, 14 - s + 2, 24),
                                                           fill=255, width=3)),
                               ("seven", lambda d, s: (d.line((6, 5, 22, 5), fill=255, width=3),
                                                       d.line((22, 5, 10 + s, 24), fill=255, width=3)))):
                image = Image.new("L", (28, 28), 0)
                draw(ImageDraw.Draw(image), k % 4)
                image.putpixel((2 + 3 * k, 26), 255)  # each picture its own
                png = io.BytesIO()
                image.save(png, "PNG")
                zf.writestr(f"{name}/{k}.png", png.getvalue())
    return out.getvalue()


def drop(page, selector: str, name: str, text: str) -> None:
    """Drop a file on `selector` as a user dragging it from the desktop would."""
    page.evaluate("""([sel, name, text]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], name, { type: "text/csv" }));
        const target = document.querySelector(sel);
        const options = { dataTransfer: dt, bubbles: true, cancelable: true };
        target.dispatchEvent(new DragEvent("dragover", options));
        target.dispatchEvent(new DragEvent("drop", options));
    }""", [selector, name, text])


def step_of(sim) -> int:
    return int(sim.get_attribute("data-step") or 0)


@pytest.mark.parametrize("width", [1280, 375])
def test_a_csv_trains_the_playground_and_a_bad_one_leaves_it_training(
        server_url, new_page, tmp_path, screenshot_dir, width):
    page = new_page(width=width, height=900)
    page.goto(f"{server_url}/?g_width=32&g_speed=10&g_batch=32#sim-gan2d")
    sim = page.locator('div.sim[data-sim="gan2d"]')
    sim.locator("button[data-action=play]").wait_for()
    csv = tmp_path / "my_ring.csv"
    csv.write_text(ring_csv())
    sim.locator("input[data-upload=gan2d]").set_input_files(str(csv))
    page.wait_for_function("() => document.querySelector('div.sim[data-sim=gan2d]').dataset.uploaded",
                           timeout=60_000)
    assert sim.get_attribute("data-uploaded") == "my_ring.csv: 60 points"
    assert "Loaded my_ring.csv: 60 points." in sim.locator(".sim-upload-line").inner_text()
    assert sim.locator("select[name=data]").input_value() == "uploaded"
    sim.locator("button[data-action=play]").click()
    page.wait_for_function(
        "() => Number(document.querySelector('div.sim[data-sim=gan2d]').dataset.step || 0) >= 40",
        timeout=90_000)
    # the scatter's real points are the CSV's: 60 of them, in its box
    count, box = sim.locator("canvas.sim-canvas").get_attribute("data-real").split(":")
    x0, x1, y0, y1 = map(float, box.split(","))
    assert count == "60" and np.allclose([x0, x1, y0, y1], [5, 7, -2.5, -1.5], atol=0.01)
    sim.scroll_into_view_if_needed()
    sim.screenshot(path=str(screenshot_dir / f"upload_gan2d_csv_{width}.png"))
    # a bad file dropped on the canvas: one line; the session keeps its data and trains on
    before = step_of(sim)
    drop(page, 'div.sim[data-sim="gan2d"] .sim-main', "broken.csv", "1,2\n3,nan\n" + "0,0\n" * 20)
    error = sim.locator(".sim-error")
    error.wait_for(state="visible", timeout=30_000)
    assert error.inner_text() == ("Not loaded: broken.csv: line 2: expected finite numbers, "
                                  "got '3,nan'")
    page.wait_for_function(
        f"() => Number(document.querySelector('div.sim[data-sim=gan2d]').dataset.step) > {before + 20}",
        timeout=60_000)
    assert sim.locator("canvas.sim-canvas").get_attribute("data-real").startswith("60:")
    assert sim.locator(".sim-upload-line").inner_text() == "Loaded my_ring.csv: 60 points."
    sim.screenshot(path=str(screenshot_dir / f"upload_gan2d_bad_{width}.png"))
    sim.locator("button[data-action=play]").click()  # pause
    assert sim_errors(page) == []


def canvas_pixels(page, selector):
    return page.evaluate(
        """(sel) => { const c = document.querySelector(sel);
                      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                      return [c.width, c.height, Array.from(data)]; }""",
        selector)


@pytest.mark.parametrize("width", [1280, 375])
def test_an_image_zip_trains_the_vae_lab_and_shows_its_images(server_url, new_page, tmp_path,
                                                              screenshot_dir, width):
    page = new_page(width=width, height=900)
    page.goto(f"{server_url}/?v_speed=10&v_width=64#sim-vae")
    sim = page.locator('div.sim[data-sim="vae"]')
    sim.locator("button[data-action=play]").wait_for()
    data = stroke_zip()
    (tmp_path / "strokes.zip").write_bytes(data)
    # first a file that is no image: one line, nothing loaded
    (tmp_path / "notes.txt").write_text("not an image")
    sim.locator("input[data-upload=vae]").set_input_files(str(tmp_path / "notes.txt"))
    sim.locator(".sim-error").wait_for(state="visible", timeout=60_000)
    assert sim.locator(".sim-error").inner_text().startswith(
        "Not loaded: notes.txt: not an image or a zip")
    sim.locator("input[data-upload=vae]").set_input_files(str(tmp_path / "strokes.zip"))
    page.wait_for_function("() => document.querySelector('div.sim[data-sim=vae]').dataset.uploaded",
                           timeout=60_000)
    assert sim.get_attribute("data-uploaded") == ("strokes.zip: 24 images in 3 classes, "
                                                  "resized to 28×28 grey")
    assert sim.locator(".sim-error").is_hidden()
    assert sim.locator("select[name=data]").input_value() == "uploaded"
    sim.locator("button[data-action=play]").click()
    page.wait_for_function(
        "() => Number(document.querySelector('div.sim[data-sim=vae]').dataset.step || 0) >= 300",
        timeout=120_000)
    sim.locator("button[data-action=play]").click()  # pause
    recons = 'div.sim[data-sim="vae"] canvas.sim-recons'
    assert sim.locator("canvas.sim-recons").get_attribute("data-data") == "upload:strokes.zip"
    assert "Your images (strokes.zip)" in sim.inner_text()
    # the top row of the panel: 8 different uploaded images, exactly as the loader read them
    lim = SimLimits()
    reference = decode("vae", receive("vae", [("strokes.zip", data)], lim).to_message(1), lim)
    w, h, pixels = canvas_pixels(page, recons)
    shown = 255 - np.array(pixels, np.int64).reshape(h, w, 4)[:28, :, 0]  # drawn inverted
    found = []
    for k in range(8):
        image = shown[:, k * 30:k * 30 + 28]
        found += [i for i in range(len(reference)) if np.array_equal(image, reference.x[i, 0])]
        assert len(found) == k + 1, f"image {k} of the panel is none of the uploaded ones"
    assert len(set(found)) == 8 and len({int(reference.y[i]) for i in found}) >= 2  # mixed
    sim.scroll_into_view_if_needed()
    sim.screenshot(path=str(screenshot_dir / f"upload_vae_zip_{width}.png"))
    assert sim_errors(page) == []
