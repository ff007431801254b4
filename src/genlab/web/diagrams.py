"""Architecture descriptions (placeholder)."""
from genlab.errors import GenlabError


def describe(sim, params):
    raise GenlabError("architecture diagrams are not ready yet")
