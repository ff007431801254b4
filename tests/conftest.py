"""Fixtures shared by the training, checkpoint, CLI and resume tests."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(autouse=False)
def one_thread():
    """In-process training tests: one intra-op thread (see cli_env), restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
