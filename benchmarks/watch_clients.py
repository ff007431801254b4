"""Viewer clients of a shared live simulation, for benchmarks/hub_sessions.py --viewers.

    python benchmarks/watch_clients.py WS_URL SHARE_ID COUNT BEGIN END

opens COUNT viewer sockets (WS_URL/ws/watch/SHARE_ID) in one event loop and prints, as one
JSON list, each viewer's state frames per second between the wall-clock times BEGIN and END
(time.time()). Its own process, importing only websockets: the client side of the benchmark
neither imports torch nor shares the server's process or event loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def viewer(url: str, share_id: str, begin: float, end: float) -> float:
    import websockets

    frames = 0
    async with websockets.connect(f"{url}/ws/watch/{share_id}", max_size=2 ** 24,
                                  open_timeout=120, ping_interval=None) as ws:
        hello = json.loads(await ws.recv())
        if "watch" not in hello:
            raise SystemExit(f"a viewer was refused: {hello}")
        while (now := time.time()) < end:
            try:
                msg = await asyncio.wait_for(ws.recv(), timeout=end - now)
            except asyncio.TimeoutError:
                break
            if isinstance(msg, bytes) and msg[4] == 1 and time.time() >= begin:
                frames += 1
    return frames / (end - begin)


async def main(url: str, share_id: str, count: int, begin: float, end: float) -> list[float]:
    return list(await asyncio.gather(*(viewer(url, share_id, begin, end)
                                       for _ in range(count))))


if __name__ == "__main__":
    url, share_id, count, begin, end = sys.argv[1:6]
    print(json.dumps(asyncio.run(main(url, share_id, int(count), float(begin), float(end)))))
