"""Operating-system faults end in one line naming the user's path and the OS's reason, a
non-zero exit, and nothing already written lost: a real full file system (a 2 MiB tmpfs),
a real read-only one (a read-only bind mount), a folder that takes no files (/proc), a path
through a file. The commands run as a user runs them, in a subprocess.

Mounting needs root (or CAP_SYS_ADMIN); where it is not permitted the tests that need a mount
are skipped with that reason, except that a non-root user gets the read-only case from
chmod (root ignores file modes, so root must mount)."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from cli_helpers import run_cli

from genlab.training import checkpoints
from genlab.training.atomic import WriteError, atomic_write_bytes, check_writable


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextmanager
def small_tmpfs(path: Path, size: str = "2m"):
    """A real file system of `size` bytes at `path`, unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        proc = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    except FileNotFoundError:
        pytest.skip("no mount command on this machine: cannot make a full file system")
    if proc.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({proc.stderr.strip()}): "
                    "cannot make a full file system")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextmanager
def read_only(path: Path):
    """`path` (a folder) made read-only: a read-only bind mount of itself (EROFS), or, for a
    non-root user where mounting is refused, chmod a-w (EACCES)."""
    try:
        bound = _mount("--bind", str(path), str(path))
        ok = bound.returncode == 0 and _mount("-o", "remount,bind,ro", str(path)).returncode == 0
    except FileNotFoundError:
        bound, ok = None, False
    if ok:
        try:
            yield "Read-only file system"
        finally:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
        return
    if bound is not None and bound.returncode == 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
    if os.geteuid() == 0:
        pytest.skip("a read-only bind mount is not permitted here, and root ignores chmod")
    mode = path.stat().st_mode
    path.chmod(0o555)
    try:
        yield "Permission denied"
    finally:
        path.chmod(mode)


def _fill(folder: Path) -> None:
    """Fill the file system under `folder` to the last byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def _one_error_line(proc, *fragments):
    assert proc.returncode != 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("genlab: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr  # train's banner may precede
    assert "Traceback" not in proc.stderr and ".part" not in proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    from genlab import train
    from genlab.config import DataConfig, ModelConfig, TrainConfig

    out = tmp_path_factory.mktemp("os") / "vae"
    cfg = TrainConfig(model=ModelConfig(kind="vae", hidden_dim=16), data=DataConfig("digits"),
                      steps=10, batch_size=32)
    for _ in train(cfg, out):
        pass
    return out


# ------------------------------------------------------------------ the writer itself

def test_a_full_disk_names_the_users_file_and_keeps_the_old_one(tmp_path):
    disk = tmp_path / "disk"
    with small_tmpfs(disk, "1m"):
        target = disk / "a.json"
        atomic_write_bytes(target, b'{"v": 1}')
        _fill(disk)
        with pytest.raises(WriteError) as e:
            atomic_write_bytes(target, b"x" * 200_000)
        assert str(e.value) == f"cannot write {str(target)!r}: No space left on device"
        assert target.read_bytes() == b'{"v": 1}'
        assert sorted(p.name for p in disk.iterdir()) == ["a.json", "filler"]  # no .part


def test_errors_that_are_not_about_writing_pass_through_the_writer(tmp_path):
    target = tmp_path / "download.bin"
    with pytest.raises(ConnectionResetError):  # e.g. a download that fails mid-way
        from genlab.training.atomic import atomic_path
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise ConnectionResetError(104, "Connection reset by peer")
    assert list(tmp_path.iterdir()) == []


def test_check_writable_before_the_work(tmp_path):
    afile = tmp_path / "afile.txt"
    afile.write_text("mine")
    with pytest.raises(WriteError, match="afile.txt' is not a folder"):
        check_writable(afile / "x.json")
    with pytest.raises(WriteError, match="it is a folder"):
        check_writable(tmp_path)
    with pytest.raises(WriteError, match="exists and is not a folder"):
        check_writable(afile, folder=True)
    with pytest.raises(WriteError, match="cannot write '/proc/s.csv': '/proc' does not accept"):
        check_writable("/proc/s.csv")
    check_writable(tmp_path / "new" / "deeper" / "x.npy")  # created later by the writer
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile.txt"]  # the probe is gone


# ------------------------------------------------------------------ commands, as a user runs them

@pytest.mark.slow
def test_train_on_a_full_disk_stops_in_one_line_and_keeps_the_last_checkpoint(tmp_path):
    disk = tmp_path / "disk"
    with small_tmpfs(disk, "2m"):
        run = disk / "run"
        # ~0.66 MB a checkpoint (weights + Adam moments): the third one does not fit in 2 MiB
        proc = run_cli("train", "vae", "--data", "digits", "--steps", "400", "--batch-size", "32",
                       "--hidden-dim", "128", "--checkpoint-every", "20", "--sample-every",
                       "1000", "--out", run, "--quiet")
        line = _one_error_line(proc, "No space left on device", str(run),
                               "the last good checkpoint is step_")
        assert proc.returncode == 2
        meta, tensors = checkpoints.load(run)  # verified against its SHA-256
        assert meta["step"] >= 20 and f"step_{meta['step']:07d}" in line
        assert all(bool(torch.isfinite(v).all()) for v in tensors.values()
                   if v.is_floating_point())
        assert not [p for p in run.rglob(".*.part")]  # no temp file left behind
        import shutil
        moved = tmp_path / "room"
        shutil.copytree(run, moved)
    # with room again, the run goes on from its last good checkpoint
    step = meta["step"]
    proc = run_cli("train", "vae", "--resume", "--steps", step + 10, "--out", moved, "--quiet",
                   check=True)
    assert json.loads((moved / "checkpoints" / "latest.json").read_text())["step"] == step + 10


@pytest.mark.slow
def test_anomaly_out_on_a_full_disk(vae_run, tmp_path):
    disk = tmp_path / "disk"
    with small_tmpfs(disk, "1m"):
        _fill(disk)
        out = disk / "scores.csv"
        proc = run_cli("anomaly", vae_run, "--out", out)
        _one_error_line(proc, f"cannot write {str(out)!r}: No space left on device")
        assert not out.exists()


def test_read_only_file_system(vae_run, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "afile.txt").write_text("mine")
    with read_only(ro) as reason:
        proc = run_cli("train", "vae", "--data", "digits", "--steps", "5", "--out", ro / "run")
        _one_error_line(proc, f"cannot write {str(ro / 'run')!r}: {reason}")
        proc = run_cli("sample", vae_run, "--out", ro / "x.npy")
        _one_error_line(proc, f"cannot write {str(ro / 'x.npy')!r}: {reason}")
        assert proc.stdout == ""
        proc = run_cli("anomaly", vae_run, "--out", ro / "s.csv")
        _one_error_line(proc, f"cannot write {str(ro / 's.csv')!r}: {reason}")
        proc = run_cli("evaluate", vae_run, "--out", ro / "e.json", "--sections", "likelihood")
        _one_error_line(proc, f"cannot write {str(ro / 'e.json')!r}: {reason}")
        assert proc.stdout == ""  # refused before any metric was computed
    assert (ro / "afile.txt").read_text() == "mine"


def test_a_read_only_run_folder_cannot_be_resumed_but_can_be_sampled(tmp_path, vae_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(vae_run, run)
    with read_only(run) as reason:
        proc = run_cli("train", "vae", "--resume", "--steps", "20", "--out", run)
        _one_error_line(proc, f"cannot write {str(run)!r}: {reason}")
        proc = run_cli("sample", run, "--n", "4", "--out", tmp_path / "s.npy", check=True)
    assert (tmp_path / "s.npy").exists()
    assert json.loads((run / "checkpoints" / "latest.json").read_text())["step"] == 10


def test_evaluate_out_through_a_file_fails_before_the_work(vae_run, tmp_path):
    (tmp_path / "afile.txt").write_text("mine")
    proc = run_cli("evaluate", vae_run, "--out", tmp_path / "afile.txt" / "x.json")
    _one_error_line(proc, "afile.txt' is not a folder", str(tmp_path / "afile.txt" / "x.json"))
    assert proc.stdout == ""
    assert (tmp_path / "afile.txt").read_text() == "mine"


def test_out_in_proc_names_the_users_path_not_a_temp_file(vae_run):
    proc = run_cli("sample", vae_run, "--out", "/proc/s.csv")
    _one_error_line(proc, "cannot write '/proc/s.csv': '/proc' does not accept new files")
    proc = run_cli("sample", vae_run, "--out", "/tmp/x.txt")  # a type known before the work
    _one_error_line(proc, "--out '/tmp/x.txt': unknown output type .txt")
