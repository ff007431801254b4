"""genlab: generative models you can train, resume, evaluate and watch learn."""

__version__ = "0.1.0"
