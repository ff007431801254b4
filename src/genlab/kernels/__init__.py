"""Small compiled CPU kernels for layers whose eager form is far slower than their FLOPs.

Each kernel compiles on first use (never at import), is cached on disk, and falls back to the
layer's eager PyTorch code with one log line when no compiler is available or it fails.
"""
