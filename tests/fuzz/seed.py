"""Videos the fuzzer can find: without them every generated id and key is unknown, and the
routes behind the 404 (status changes, owner and public views, listings with items) would
never run. Seeded through the API itself, like a user and the transcoder would."""

from __future__ import annotations

import attrs
import httpx

from plugins.internal_iam.client import SigV4Signer
from tests.fuzz.accounts import Account
from tests.fuzz.server import REGION, SERVICE_KEY
from tests.video import workflow
from tests.video.workflow import Credentials

# Each visibility once; the public and unlisted ones are completed (so they can be
# discovered), the private one stays in progress.
VIDEOS = (("PUBLIC", "COMPLETED"), ("UNLISTED", "COMPLETED"), ("PRIVATE", None))


@attrs.frozen
class Seed:
    video_ids: list[str]
    keys: list[str]


def seed_videos(base_url: str, owner: Account) -> Seed:
    user = Credentials(cookies=owner.session_cookies())
    service = Credentials(auth=SigV4Signer(SERVICE_KEY, region=REGION))
    seed = Seed(video_ids=[], keys=[])
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for visibility, status in VIDEOS:
            key = workflow.upload(client, user)
            created = workflow.register(client, user, key, title=f"Seeded {visibility.lower()}",
                                        visibility=visibility)
            created.raise_for_status()
            video_id = created.json()["id"]
            if status is not None:
                workflow.set_status(client, service, video_id, status).raise_for_status()
            seed.video_ids.append(video_id)
            seed.keys.append(key)
    return seed
