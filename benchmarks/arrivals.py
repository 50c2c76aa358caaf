"""When each submit reached the agent server: an ASGI wrapper for the benchmark servers.

It notes the wall-clock time a ``POST …/runs`` arrives, by its Idempotency-Key (one
per attempt: ``sched-<schedule>-<time>-<attempt>``), before the app reads a byte of
it; ``GET /bench/arrivals`` answers the notes as JSON. So the benchmark's sent lag is
measured where the request landed, not where our side stamped it.
"""

import json
import time


class ArrivalLog:
    def __init__(self, app):
        self.app = app
        self.arrivals: dict[str, float] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if method == "GET" and path == "/bench/arrivals":
                body = json.dumps(self.arrivals).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            if method == "POST" and path.endswith("/runs"):
                key = dict(scope["headers"]).get(b"idempotency-key", b"").decode()
                self.arrivals.setdefault(key, time.time())
        await self.app(scope, receive, send)
