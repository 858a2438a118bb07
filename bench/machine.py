"""What the figures were measured on: cores, load, Python and the versions that matter."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import platform
import subprocess

import asyncpg
import redis

PACKAGES = ["uvicorn", "starlette", "uvloop", "httptools", "asyncpg", "piccolo", "redis",
            "boto3", "PyJWT", "moto"]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _wrk_version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).split("[")[0].removeprefix("wrk").strip() or "unknown"


async def _postgres_version(url: str) -> str:
    connection = await asyncpg.connect(url)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


def _redis_version(url: str) -> str:
    client = redis.Redis.from_url(url)
    try:
        return str(client.info("server")["redis_version"])
    finally:
        client.close()


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def facts(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "PostgreSQL": asyncio.run(_postgres_version(database_url)),
        "Redis": _redis_version(redis_url),
        "wrk": _wrk_version(),
        **{package: _version(package) for package in PACKAGES},
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
