"""A fast loopback webhook receiver for benchmarks: accepts POSTs like ansible.eda.webhook
(Bearer token, 401 otherwise; 200 with the path as body) and records, for each event, the
monotonic time it answered 200 with the payload's identity (for VolumeData events, the volume and
`last_change_at`).

CLOCK_MONOTONIC is system-wide on Linux, so its times compare with those a writer process
takes around its API writes (latency from write to 200).

    python -m harness.webhook_receiver --port P --token T --out events.jsonl

`GET /_count` answers the number of events recorded; SIGTERM/SIGINT writes `--out` and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
import urllib.request

from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    records: list[tuple] = []
    expected = f"Bearer {args.token}"

    async def post(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected:
            raise web.HTTPUnauthorized(text="Invalid authorization token")
        try:
            payload = await request.json()
        except json.JSONDecodeError:
            raise web.HTTPBadRequest(text="Invalid JSON payload") from None
        resource = payload.get("resource") or {}
        meta = resource.get("metadata") or {}
        records.append(
            (
                time.monotonic_ns(),
                payload.get("kind"),
                payload.get("type"),
                meta.get("namespace"),
                meta.get("name"),
                meta.get("resourceVersion"),
                payload.get("volume"),
                payload.get("last_change_at"),
            )
        )
        return web.Response(text=request.match_info["endpoint"])

    async def count(_request: web.Request) -> web.Response:
        return web.Response(text=str(len(records)))

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/_count", count)
        app.router.add_post(r"/{endpoint:.*}", post)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(run())
    with open(args.out, "w") as out:
        for t, kind, change, ns, name, rv, volume, last_change in records:
            record = {"t_ns": t, "kind": kind, "type": change, "namespace": ns, "name": name, "rv": rv}
            if volume is not None:  # VolumeData (nfs-watch)
                record.update(volume=volume, last_change_at=last_change)
            out.write(json.dumps(record))
            out.write("\n")


def count(port: int) -> int:
    """Events recorded so far by the receiver on `port`."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_count", timeout=5) as r:
        return int(r.read())


if __name__ == "__main__":
    main()
