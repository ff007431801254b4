import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The metric tests use tiny tensors: one intra-op thread is faster, and far faster on a
    loaded 2-core machine where spinning worker threads compete. Restored after each test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
