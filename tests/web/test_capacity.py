"""The session cap from cores and memory (genlab.web.simulations.capacity), on numbers and on
cgroup / meminfo files the tests write."""

from __future__ import annotations

import pytest

from genlab.web.simulations import capacity
from genlab.web.simulations.capacity import session_cap

MiB, GiB = 2**20, 2**30


@pytest.mark.parametrize("cores, threads, available, cap, reason", [
    (2, 1, 24 * GiB, 4, "4 live simulations: 2 cores × 2 per core, memory allows 49 "),
    (2, 2, 24 * GiB, 2, "2 live simulations: 2 cores × 2 per core ÷ 2 threads per simulation"),
    (1, 4, 24 * GiB, 1, "1 live simulation: 1 core × 2 per core ÷ 4 threads"),  # at least one
    (16, 1, 2 * GiB, 3, "3 live simulations: memory allows 3 (2.0 GiB available, 490 MiB per "
                        "simulation); 16 cores × 2 per core would allow 32"),
    (8, 1, 100 * MiB, 1, "1 live simulation: memory allows 0"),  # below the reserve: one
    (1.5, 1, None, 3, "3 live simulations: 1.5 cores × 2 per core, memory unknown"),  # a quota
    (400, 1, None, 256, "256 live simulations: 400 cores × 2 per core, memory unknown; at most"),
])
def test_cap_is_the_smaller_of_cores_and_memory(cores, threads, available, cap, reason):
    got = session_cap(cores, threads, available, per_core=2)  # the rule, at 2 per core
    assert got.sessions == cap
    assert got.reason.startswith(reason), got.reason
    assert "\n" not in got.reason


def test_the_default_is_the_measured_figure():
    assert session_cap(2, 1, None).sessions == 2 * capacity.SESSIONS_PER_CORE == 8


def test_the_figures_are_the_ones_the_rule_uses():
    # memory: (available − reserve) // per worker, with the module's one figure per worker
    available = capacity.SERVER_RESERVE_BYTES + 7 * capacity.WORKER_BYTES + 1
    assert session_cap(100, 1, available).sessions == 7
    assert session_cap(100, 1, available - 2).sessions == 6
    assert session_cap(3, 1, None, per_core=1).sessions == 3


def test_given_cap_overrides():
    assert capacity.given_cap(1).reason == "1 live simulation: set by --max-sessions"
    assert capacity.given_cap(12).sessions == 12


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_and_memory_limit_of_own_group_and_parents(tmp_path):
    root, cgroup_file = tmp_path / "cg", tmp_path / "self_cgroup"
    write(cgroup_file, "0::/app/hub\n")
    write(root / "app" / "hub" / "cpu.max", "150000 100000\n")  # 1.5 cores
    write(root / "app" / "cpu.max", "max 100000\n")
    write(root / "app" / "hub" / "memory.max", "max\n")
    write(root / "app" / "memory.max", str(3 * GiB))  # the parent's limit binds
    write(root / "app" / "memory.current", str(1 * GiB))
    assert capacity.cgroup_cores(root, cgroup_file) == 1.5
    assert capacity.cgroup_memory(root, cgroup_file) == 2 * GiB


def test_cgroup_v1_quota_and_limit_and_no_limits(tmp_path):
    root, cgroup_file = tmp_path / "cg", tmp_path / "self_cgroup"
    write(cgroup_file, "4:memory:/box\n3:cpu,cpuacct:/box\n0::/\n")
    write(root / "cpu" / "box" / "cpu.cfs_quota_us", "200000")
    write(root / "cpu" / "box" / "cpu.cfs_period_us", "100000")
    write(root / "memory" / "box" / "memory.limit_in_bytes", str(4 * GiB))
    write(root / "memory" / "box" / "memory.usage_in_bytes", str(GiB))
    write(root / "memory" / "memory.limit_in_bytes", str(2**63 - 4096))  # v1's "no limit"
    assert capacity.cgroup_cores(root, cgroup_file) == 2.0
    assert capacity.cgroup_memory(root, cgroup_file) == 3 * GiB
    empty = tmp_path / "none"
    assert capacity.cgroup_cores(empty, cgroup_file) is None
    assert capacity.cgroup_memory(empty, cgroup_file) is None


def test_meminfo_and_this_machine(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  8000000 kB\nMemFree: 100 kB\nMemAvailable:  4000000 kB\n")
    assert capacity.mem_available(meminfo) == 4_000_000 * 1024
    assert capacity.mem_available(tmp_path / "missing") is None
    cores, available = capacity.machine()
    assert cores >= 1 and (available is None or available > 0)
    assert capacity.machine_cap().sessions >= 1
