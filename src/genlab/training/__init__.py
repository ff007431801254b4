"""Training: the loop, the family table, a run's state and everything written while it trains.

    loop.py        train() and advance(state, next_batch), the loop body train and bench share
    steps.py       the family table (FAMILIES) and one step function per family
    state.py       TrainState: built once per run, turned into / restored from a checkpoint
    run_folder.py  creating, resuming and trimming a run folder
    checkpoints.py safetensors + JSON, every random stream, exact resume
    distributed.py torchrun / DistributedDataParallel, generic (no model family in it)
    cpu_bf16.py    the CPU bf16 convolution fast path (one switch: TrainState.cpu_bf16)
    atomic.py      the one atomic writer every file genlab writes goes through

Nothing is imported here, so `genlab.training.atomic` costs no torch import.
"""
