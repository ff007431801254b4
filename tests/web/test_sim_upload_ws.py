"""Uploads against the real app: a WebSocket session's token, the POST, the worker's verdict,
frames that train on the uploaded data, refusals that leave the session working, and the token
(with the data) gone once the page's connection closes."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from genlab.web.app import create_app
from genlab.web.simulations import create_router
from genlab.web.simulations.frames import decode_frame
from genlab.web.simulations.uploads import TOKEN_HEADER, URL


def hello(ws) -> dict:
    message = json.loads(ws.receive_text())
    assert message["type"] == "hello"
    return message["upload"]


def next_frame(ws, step: int | None = None):
    while True:
        message = ws.receive()
        if message.get("text"):
            msg = json.loads(message["text"])
            assert msg["type"] != "error", msg
            continue
        frame = decode_frame(message["bytes"])
        if frame[0] == 1 and (step is None or frame[1] == step):
            return frame


def post(client, token, *files, headers=None):
    return client.post(URL, headers={TOKEN_HEADER: token, **(headers or {})},
                       files=[("file", f) for f in files])


def test_csv_upload_trains_the_playground_and_bad_ones_leave_it_working():
    with TestClient(create_app()) as client:
        with client.websocket_connect("/ws/sim/gan2d") as ws:
            upload = hello(ws)
            check_playground(client, ws, upload)
        # the page's connection closed: its token (and its data) are gone
        r = post(client, upload["token"], ("a.csv", b"1,2\n" * 20))
        assert r.status_code == 403 and "no live simulation" in r.json()["message"]


def check_playground(client, ws, upload):
    assert upload["url"] == URL and upload["max_bytes"] == 8 * 2**20
    ws.send_text(json.dumps({"type": "config", "config": {
        "data": "uploaded", "width": 16, "batch": 16, "loss": "hinge"}}))
    assert next_frame(ws)[2]["need_upload"] is True
    csv = "x,y\n" + "".join(f"{5 + np.cos(t):.3f},{-3 + np.sin(t):.3f}\n"
                            for t in np.linspace(0, 6, 40))
    r = post(client, upload["token"], ("ring.csv", csv.encode(), "text/csv"))
    assert r.status_code == 200 and r.json() == {"ok": True, "message": "ring.csv: 40 points"}
    ws.send_text(json.dumps({"type": "step", "n": 2}))
    _, _, meta, arrays = next_frame(ws, step=2)
    real = arrays["real"]
    assert real.shape == (40, 2) and (real[:, 0] > 3.9).all() and (real[:, 1] < -1.9).all()
    assert meta["view"][0] < 4 < 6 < meta["view"][1]
    # refusals: one line each; the session keeps its data and trains on
    for name, body, status, line in [
        ("bad.csv", b"1,2\n3,nan\n" + b"0,0\n" * 20, 400,
         "bad.csv: line 2: expected finite numbers, got '3,nan'"),
        ("wide.csv", b"1,2,3\n", 400, "wide.csv: line 1: expected 2 numeric columns, got 3"),
        ("photo.png", b"\x89PNG....", 415, "photo.png: not a CSV file"),
        ("huge.csv", b"1,2\n" * 600_000, 413, "huge.csv: 2.29 MiB, at most 2 MiB a file"),
    ]:
        r = post(client, upload["token"], (name, body, "text/csv"))
        assert r.status_code == status and r.json()["message"].startswith(line), r.json()
    ws.send_text(json.dumps({"type": "step", "n": 1}))
    _, _, _, arrays = next_frame(ws, step=3)
    assert np.array_equal(arrays["real"], real)
    # another site's page, or no / a wrong token: refused
    r = post(client, upload["token"], ("a.csv", csv.encode()),
             headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "the hub's own page" in r.json()["message"]
    assert post(client, "nope", ("a.csv", csv.encode())).status_code == 403
    r = client.post(URL, headers={TOKEN_HEADER: upload["token"]}, content=b"1,2")
    assert r.status_code == 415 and "multipart/form-data" in r.json()["message"]


def digit_zip(n: int = 24) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for k in range(n):
            a = np.zeros((28, 28), np.uint8)
            a[4:24, 3 + 2 * (k % 10):6 + 2 * (k % 10)] = 255  # a bar: not an MNIST digit
            png = io.BytesIO()
            Image.fromarray(a).save(png, "PNG")
            zf.writestr(f"bars/{k}.png", png.getvalue())
    return out.getvalue()


def test_image_zip_trains_the_vae_lab_and_the_slot_goes_with_the_socket():
    router = create_router()
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        with client.websocket_connect("/ws/sim/vae") as ws:
            upload = hello(ws)
            ws.send_text(json.dumps({"type": "config", "config": {"data": "uploaded",
                                                                  "width": 32, "batch": 16}}))
            assert next_frame(ws)[2]["need_upload"] is True  # the digits, until a set is loaded
            r = post(client, upload["token"], ("bars.zip", digit_zip(), "application/zip"))
            assert r.json() == {"ok": True, "message": "bars.zip: 24 images in 1 classes, "
                                                       "resized to 28×28 grey"}
            ws.send_text(json.dumps({"type": "step", "n": 3}))
            _, _, meta, arrays = next_frame(ws, step=3)
            assert meta["data"] == "upload:bars.zip" and meta["need_upload"] is False
            assert arrays["latent"].shape == (24, 2)
            orig = arrays["orig"]  # the uploaded bars, not digits: 3 columns of 255 each row
            # (binarized as the lab binarizes: 255 stays 255, 0 stays 0)
            assert orig.shape == (10, 28, 28) and (orig[:, 10] == 255).sum(axis=1).tolist() == [3] * 10
            bomb = io.BytesIO()
            with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("big.png", bytes(40 * 2**20))
            r = post(client, upload["token"], ("bomb.zip", bomb.getvalue(), "application/zip"))
            assert r.status_code == 413
            assert r.json()["message"] == "bomb.zip/big.png: 40 MiB uncompressed, at most 2 MiB a file"
            ws.send_text(json.dumps({"type": "step", "n": 1}))
            _, _, meta, arrays = next_frame(ws, step=4)
            assert meta["data"] == "upload:bars.zip" and np.array_equal(arrays["orig"], orig)
            assert len(router.slots) == 1
        assert len(router.slots) == 0  # the socket closed: slot, token and data gone


def test_several_image_files_train_the_dcgan_lab():
    router = create_router()
    app = FastAPI()
    app.include_router(router)
    files = []
    for k in range(10):
        a = np.zeros((40, 30, 3), np.uint8)
        a[5:35, 2 + 2 * k:6 + 2 * k] = (255, 200, 0)  # RGB, not square: fit to 28×28 grey
        png = io.BytesIO()
        Image.fromarray(a).save(png, "PNG")
        files.append((f"bar{k}.png", png.getvalue(), "image/png"))
    with TestClient(app) as client, client.websocket_connect("/ws/sim/dcgan") as ws:
        upload = hello(ws)
        ws.send_text(json.dumps({"type": "config", "config": {"data": "uploaded", "filters": 4,
                                                              "latent": 8, "batch": 8}}))
        r = post(client, upload["token"], *files)
        assert r.json() == {"ok": True, "message": "10 images, resized to 28×28 grey"}
        ws.send_text(json.dumps({"type": "step", "n": 2}))
        _, _, meta, arrays = next_frame(ws, step=2)
        assert meta["data"] == "upload:10 files" and arrays["grid"].shape == (16, 28, 28)
        assert np.isfinite([meta["loss_d"], meta["loss_g"]]).all()
