"""The live simulations' WebSocket protocol in numbers: message bound, heartbeat, close codes.

Defined once here; the server (routes.py), uvicorn (`genlab serve`, server.py) and the page
(core.js, which is told them in the "hello" message) all take them from this module. No
heavy imports: `genlab serve` reads it while building its command line.
"""

from __future__ import annotations

# The largest message a page really sends: 2,000 drawn points (schemas.PointsMsg), each
# coordinate snapped to 4 decimals by gan2d.js, worst case "-0.9922" → 36,028 bytes of JSON
# (measured with the page's own unsnap(); a drawn digit to score is 4,730, settings < 1,000).
# 64 KiB leaves 1.8× headroom. uvicorn refuses anything larger before buffering it
# (ws_max_size); the route checks again for servers that do not.
MAX_MESSAGE_BYTES = 64 * 1024

# Our messages nest at most 3 levels ({"points": [[x, y], ...]}); JSON nested far deeper
# makes Python's decoder raise RecursionError, which closes the socket with CLOSE_POLICY.
# The page pings every HEARTBEAT_SECONDS while visible (less when the server's idle limit is
# short: see heartbeat_seconds), so a simulation a learner watches is never stopped as idle.
HEARTBEAT_SECONDS = 15.0

# close codes (RFC 6455 §7.4.1; 4000-4999 are the application's own)
CLOSE_UNSUPPORTED = 1003  # a binary frame: the page sends JSON text only
CLOSE_POLICY = 1008  # another site's Origin, an unknown simulation, JSON nested too deep
CLOSE_TOO_BIG = 1009  # a message over MAX_MESSAGE_BYTES
CLOSE_IDLE = 4000  # no message for idle_seconds
CLOSE_FULL = 4001  # every simulation slot is taken: the page retries by itself
CLOSE_WATCH_ENDED = 4002  # watch mode: no such share, it ended, or its viewer limit is reached


def heartbeat_seconds(idle_seconds: float) -> float:
    """The page's ping interval under this idle limit: HEARTBEAT_SECONDS, or a third of a
    shorter idle limit (two pings may be late before the simulation is stopped)."""
    return min(HEARTBEAT_SECONDS, idle_seconds / 3.0)
