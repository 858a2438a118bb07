"""The status-change walk of the events benchmark: every request a service-signed
`PATCH …/{id}/status` over its own video, each with its own SigV4 signature (the replay
guard refuses a signature seen before), written for wrk's Lua script one line a request."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

import httpx
from botocore.credentials import Credentials

from bench.scenarios import VIDEOS
from plugins.internal_iam.client import sign_request

STATUS_BODY = '{"status":"COMPLETED","duration_seconds":120.0}'
# The headers each line carries after its path and body, in this order.
SIGNED = ("x-amz-date", "x-amz-content-sha256", "authorization")

# Each wrk thread walks its own share of the lines, each line once while they last.
SIGNED_WALK_SCRIPT = """
local lines = {}
local pattern = "^" .. string.rep("([^\\t]*)\\t", 4) .. "(.*)$"
for line in io.lines("%(lines)s") do
  local path, body, date, sha, auth = line:match(pattern)
  lines[#lines + 1] = {path, body, {["Content-Type"] = "application/json",
    ["X-Amz-Date"] = date, ["X-Amz-Content-SHA256"] = sha, ["Authorization"] = auth}}
end
local started = 0
function setup(thread)
  thread:set("first", started)
  started = started + 1
end
function init(args)
  position = first
end
function request()
  position = position + %(threads)d
  local item = lines[position %% #lines + 1]
  return wrk.format("PATCH", item[1], item[3], item[2])
end
"""


def status_path(video_id: str) -> str:
    return f"{VIDEOS}/{video_id}/status"


def signed_line(base: str, video_id: str, credentials: Credentials, region: str) -> str:
    """One request of the walk: path, body and the signed headers, tab-separated."""
    request = httpx.Request("PATCH", base + status_path(video_id), content=STATUS_BODY,
                            headers={"content-type": "application/json"})
    sign_request(request, credentials, region=region)
    return "\t".join([status_path(video_id), STATUS_BODY,
                      *(request.headers[name] for name in SIGNED)])


def signed_walk_script(folder: Path, name: str, lines: Sequence[str], threads: int) -> Path:
    if any("\n" in line for line in lines):
        raise ValueError("one request a line")
    listing = folder / f"{name}.lines"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script = folder / f"{name}.lua"
    script.write_text(SIGNED_WALK_SCRIPT % {"lines": listing, "threads": threads},
                      encoding="utf-8")
    return script


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float | None:
    """The median of same-round ratios; None when a round has nothing to divide by."""
    if not numerators or len(numerators) != len(denominators) or not all(denominators):
        return None
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def per_thousand(cpu_seconds: float, events: int) -> float:
    """CPU seconds per 1,000 events."""
    return cpu_seconds / events * 1000 if events else 0.0
