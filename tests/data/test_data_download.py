import functools
import hashlib
import http.server
import threading

import numpy as np
import pytest

from genlab.data import idx as idx_module
from genlab.data import load_dataset
from genlab.data.download import download
from genlab.data.idx import write_idx
from genlab.errors import GenlabError


@pytest.fixture
def server(tmp_path):
    """A local HTTP server (127.0.0.1, thread) over a folder the test fills."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _md5(data):
    return hashlib.md5(data).hexdigest()


def test_download_verified(server, tmp_path):
    root, url = server
    (root / "a.bin").write_bytes(b"hello" * 1000)
    dest = tmp_path / "out" / "a.bin"
    assert download(url + "a.bin", dest, _md5(b"hello" * 1000)) == dest
    assert dest.read_bytes() == b"hello" * 1000
    assert [p.name for p in dest.parent.iterdir()] == ["a.bin"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    root, url = server
    (root / "a.bin").write_bytes(b"tampered")
    dest = tmp_path / "out" / "a.bin"
    with pytest.raises(GenlabError) as e:
        download(url + "a.bin", dest, "0" * 32)
    assert "checksum mismatch" in str(e.value) and "nothing was saved" in str(e.value)
    assert list(dest.parent.iterdir()) == []


def test_falls_back_to_next_mirror(server, tmp_path):
    root, url = server
    (root / "good").mkdir()
    (root / "good" / "a.bin").write_bytes(b"data")
    dest = tmp_path / "a.bin"
    download([url + "missing/a.bin", url + "good/a.bin"], dest, _md5(b"data"))
    assert dest.read_bytes() == b"data"
    with pytest.raises(GenlabError, match="HTTP 404"):
        download([url + "missing/a.bin"], tmp_path / "b.bin", _md5(b"data"))
    assert not (tmp_path / "b.bin").exists()


def test_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"xyz")
    download(src.as_uri(), tmp_path / "dst.bin", _md5(b"xyz"))
    assert (tmp_path / "dst.bin").read_bytes() == b"xyz"


def test_load_dataset_downloads_idx(server, tmp_path, monkeypatch):
    root, url = server
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    write_idx(root / "t10k-images-idx3-ubyte.gz", images)
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3], np.uint8))
    md5 = {p.name: _md5(p.read_bytes()) for p in root.iterdir()}
    source = dict(idx_module.SOURCES["mnist"], mirrors=[url], md5=md5)
    monkeypatch.setitem(idx_module.SOURCES, "mnist", source)
    ds = load_dataset("mnist", split="test", download=True)
    assert np.array_equal(ds.x[:, 0].numpy(), images) and ds.y.tolist() == [1, 2, 3]
    assert (tmp_path / "cache" / "genlab" / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    data_dir = tmp_path / "mine"
    load_dataset("mnist", split="test", data_dir=data_dir, download=True)
    assert sorted(p.name for p in (data_dir / "mnist").iterdir()) == sorted(md5)


def test_published_checksums_are_well_formed():
    for source in idx_module.SOURCES.values():
        assert len(source["md5"]) == 4
        assert all(len(v) == 32 and int(v, 16) >= 0 for v in source["md5"].values())
