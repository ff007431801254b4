"""describe_layers: the layers a module really runs, in call order, for architecture diagrams."""

from __future__ import annotations

import torch
from torch import nn

from genlab.models.modes import evaluating


def _is_leaf(module: nn.Module) -> bool:
    # a spectral-normalized layer has a `parametrizations` child but is still one layer
    return all(name == "parametrizations" for name, _ in module.named_children())


def _class_name(module: nn.Module) -> str:
    name = type(module).__name__
    return name[len("Parametrized"):] if name.startswith("Parametrized") else name


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for item in out:
            t = _first_tensor(item)
            if t is not None:
                return t
    return None


def describe_layers(model_or_module: nn.Module, example_input,
                    ) -> list[tuple[str, str, tuple[int, ...], int]]:
    """Run `model_or_module(*example_input)` once (eval mode, no grad) with forward hooks on
    every leaf layer; return [(qualified name, class name, output shape, parameter count)]
    in call order. `example_input` is a tensor or a tuple of positional arguments
    (e.g. `(z, y)`). The module's train/eval flags are restored afterwards."""
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    rows: list[tuple[str, str, tuple[int, ...], int]] = []
    handles = []

    def hook_for(name: str, module: nn.Module):
        n_params = sum(p.numel() for p in module.parameters())

        def hook(_module, _inputs, output):
            t = _first_tensor(output)
            shape = tuple(t.shape) if t is not None else ()
            rows.append((name, _class_name(module), shape, n_params))
        return hook

    for name, module in model_or_module.named_modules():
        if name and not name.endswith("parametrizations") and ".parametrizations." not in name \
                and _is_leaf(module):
            handles.append(module.register_forward_hook(hook_for(name, module)))
    try:
        with evaluating(model_or_module), torch.no_grad():
            model_or_module(*args)
    finally:
        for h in handles:
            h.remove()
    return rows
