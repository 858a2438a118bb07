"""Does presigning stall the event loop? Inline presigns against presigns in threads.

A ticker task asks to wake every millisecond and records how late it wakes: that is the
delay every other request on the loop would see. Meanwhile CONCURRENCY tasks each sign
URLS_PER_TASK upload URLs:

- inline: on the event loop;
- threads: through anyio's default worker threads (up to 40 at once);
- pool-2: through worker threads limited to SIGNING_THREADS at once, which is what
  plugins/video/storage.py does when botocore signs. Signing is CPU work under the GIL:
  more threads only fight the event loop for it;
- ours: plugins/video/presign.py inline on the event loop (what storage.py does).

It first compares the CPU cost of one presign through botocore's `generate_presigned_url`
with plugins/video/presign.py's SigV4 presigner (same client, credentials and request).

Figures are ratios against the idle loop and between the modes, measured in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
import boto3
from botocore.config import Config as BotoConfig

from plugins.video.presign import S3Presigner, bucket_endpoint

CONCURRENCY = 64
URLS_PER_TASK = 20
TICK_SECONDS = 0.001
SIGNING_THREADS = 2  # keep equal to plugins.video.storage.SIGNING_THREADS


def make_client() -> Any:
    return boto3.client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id="bench", aws_secret_access_key="bench",
        config=BotoConfig(signature_version="s3v4"),
    )


def presigner(s3: Any) -> Callable[[int], str]:
    def presign(index: int) -> str:
        return s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": "itube-raw-videos", "Key": f"videos/bench/{index}",
                    "ContentType": "video/mp4"},
            ExpiresIn=900, HttpMethod="PUT",
        )

    return presign


def fast_presigner(s3: Any) -> Callable[[int], str]:
    presigner = S3Presigner(s3._request_signer._credentials)
    endpoint = bucket_endpoint(s3, "itube-raw-videos")

    def presign(index: int) -> str:
        return presigner.presign(endpoint, f"videos/bench/{index}", 900, method="PUT",
                                 content_type="video/mp4")

    return presign


def cost_per_call_us(presign: Callable[[int], str], calls: int = 2000) -> float:
    started = time.perf_counter()
    for index in range(calls):
        presign(index)
    return (time.perf_counter() - started) / calls * 1e6


async def ticker(stop: asyncio.Event, lateness: list[float]) -> None:
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(TICK_SECONDS)
        lateness.append(time.perf_counter() - asked - TICK_SECONDS)


async def run(sign: Callable[[int], Awaitable[str]] | None) -> dict[str, float]:
    """Ticker lateness (ms) and signing throughput while `sign` runs (None: idle loop)."""
    stop, lateness = asyncio.Event(), list[float]()
    tick = asyncio.create_task(ticker(stop, lateness))

    async def request(task: int, signer: Callable[[int], Awaitable[str]]) -> None:
        for index in range(URLS_PER_TASK):
            await signer(task * URLS_PER_TASK + index)
            await asyncio.sleep(0)  # a handler awaits other I/O between presigns

    started = time.perf_counter()
    if sign is None:
        await asyncio.sleep(0.3)
    else:
        await asyncio.gather(*(request(task, sign) for task in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    stop.set()
    await tick
    ordered = sorted(lateness) or [0.0]
    return {
        "p50_ms": statistics.median(ordered) * 1e3,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1 if len(ordered) > 1 else 0] * 1e3,
        "max_ms": ordered[-1] * 1e3,
        "urls_per_s": (CONCURRENCY * URLS_PER_TASK / elapsed) if sign else 0.0,
    }


async def measure(
    presign: Callable[[int], str], fast: Callable[[int], str]
) -> dict[str, dict[str, float]]:
    async def inline(index: int) -> str:
        return presign(index)

    async def ours_inline(index: int) -> str:
        return fast(index)

    async def threaded(index: int) -> str:
        return await anyio.to_thread.run_sync(presign, index)

    limiter = anyio.CapacityLimiter(SIGNING_THREADS)

    async def pooled(index: int) -> str:
        return await anyio.to_thread.run_sync(presign, index, limiter=limiter)

    results = {"idle": await run(None)}
    modes = (("inline", inline), ("threads", threaded), ("pool-2", pooled),
             ("ours", ours_inline))
    for name, sign in modes:
        await run(sign)  # warm up
        results[name] = await run(sign)
    return results


def main() -> None:
    s3 = make_client()
    presign = presigner(s3)
    cost = cost_per_call_us(presign)
    fast = fast_presigner(s3)
    fast_cost = cost_per_call_us(fast, calls=20000)
    try:
        import uvloop

        results = uvloop.run(measure(presign, fast))
        loop_name = "uvloop"
    except ImportError:
        results = asyncio.run(measure(presign, fast))
        loop_name = "asyncio"
    idle, inline, pool = results["idle"], results["inline"], results["pool-2"]
    print(f"presign cost: {cost:.0f} us per call (one thread, no contention)")
    print(f"plugins.video.presign: {fast_cost:.1f} us per call; "
          f"botocore / ours: {_ratio(cost, fast_cost)}")
    print(f"{CONCURRENCY} tasks x {URLS_PER_TASK} presigns on {loop_name}; "
          f"ticker lateness in ms (p50 / p99 / max), signing throughput:")
    for name, row in results.items():
        print(f"  {name:8s} {row['p50_ms']:7.2f} {row['p99_ms']:7.2f} {row['max_ms']:7.2f}"
              f"   {row['urls_per_s']:8.0f} URLs/s")
    for label, mode in (("threads", results["threads"]), ("pool-2", pool)):
        print(f"p99 lateness inline / {label}: {_ratio(inline['p99_ms'], mode['p99_ms'])}")
        print(f"throughput {label} / inline:   {_ratio(mode['urls_per_s'], inline['urls_per_s'])}")
    print(f"p99 lateness pool-2 / idle:    {_ratio(pool['p99_ms'], idle['p99_ms'])}")
    ours = results["ours"]
    print(f"p99 lateness ours inline / pool-2: {_ratio(ours['p99_ms'], pool['p99_ms'])}")
    print(f"throughput ours inline / pool-2:   {_ratio(ours['urls_per_s'], pool['urls_per_s'])}")


def _ratio(value: float, baseline: float) -> str:
    return f"{value / max(baseline, 1e-6):.2f}x"

if __name__ == "__main__":
    main()
