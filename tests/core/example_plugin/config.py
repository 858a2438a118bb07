"""The guest book's settings: the `[plugins.guestbook]` table."""

import attrs

from core.config import secret


@attrs.define
class GuestbookSettings:
    # Shown as the title of the listing.
    title: str = "Guest book"
    # Entries returned by one listing, newest first.
    page_size: int = 20
    # Lets moderators delete entries with `X-Moderator-Key`; empty turns moderation off.
    moderator_key: str = secret()
