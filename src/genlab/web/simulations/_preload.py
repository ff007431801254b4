"""Imported once by the forkserver (never by the server itself): torch, the library and the
mnist5k digits are loaded there, so each simulation's worker forks with them in memory."""

from genlab.web.simulations.worker import preload

preload()
