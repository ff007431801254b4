"""Errors a user can cause. Each carries one line that names what is at fault."""

from __future__ import annotations

from collections.abc import Iterable


class GenlabError(Exception):
    """A bad path, corrupt file, unknown name or out-of-range value.

    The command line prints the message as one line and exits with status 2; the hub shows it
    on the page. Anything else that escapes is a bug in genlab.
    """


def unknown_name(kind: str, name: object, choices: Iterable[str]) -> GenlabError:
    """`unknown loss 'wgan': choose one of hinge, minimax, ...`"""
    listed = ", ".join(sorted(str(c) for c in choices))
    return GenlabError(f"unknown {kind} {name!r}: choose one of {listed}")


def check_range(name: str, value, low=None, high=None) -> None:
    """Raise a GenlabError when `value` is outside [low, high] (either bound may be None)."""
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise GenlabError(f"{name} must be in [{lo}, {hi}], got {value}")
