"""The index of a video's status history, read a page at a time in row order.

`GET .../{video_id}/history` asks for `WHERE video = ? AND id > ? ORDER BY id`: an index
on `(video, id)` bounds both terms (SQLite reads it in order; PostgreSQL fetches a video's
few rows by bitmap and sorts them). It replaces the single-column index on `video`
(Piccolo's `video_status_history_video`), whose other use, the cascade of a video's
deletion, it serves as well.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-02T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "status history index on (video, id)"

HISTORY_INDEX = (
    "CREATE INDEX IF NOT EXISTS video_status_history_video_id_idx "
    "ON video_status_history (video, id)"
)
VIDEO_INDEX = (
    "CREATE INDEX IF NOT EXISTS video_status_history_video ON video_status_history (video)"
)


async def replace_video_index():
    engine = engine_finder()
    assert engine is not None
    await engine.run_ddl(HISTORY_INDEX)
    await engine.run_ddl("DROP INDEX IF EXISTS video_status_history_video")


async def restore_video_index():
    engine = engine_finder()
    assert engine is not None
    await engine.run_ddl(VIDEO_INDEX)
    await engine.run_ddl("DROP INDEX IF EXISTS video_status_history_video_id_idx")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="video", description=DESCRIPTION)
    manager.add_raw(replace_video_index)
    manager.add_raw_backwards(restore_video_index)
    return manager
