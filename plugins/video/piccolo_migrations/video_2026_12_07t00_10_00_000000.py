"""View counts move to a table of their own, `video_view_counts`, one narrow row a viewed
video, which goes with its video (docs/decisions.md: a view's update of the wide `videos`
row rewrote its every index).

Forwards, the table is made and filled from `videos.view_count` (raw steps run first),
then the column is dropped; backwards, the column comes back (the manager's own step),
then the counts are copied into it and the table is dropped.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T00:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "view counts in a table of their own"

CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS video_view_counts ("
    "video_id UUID PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE, "
    "views BIGINT NOT NULL)"
)
FILL_TABLE = ("INSERT INTO video_view_counts (video_id, views) "
              "SELECT id, view_count FROM videos WHERE view_count > 0")
RESTORE_COLUMN = ("UPDATE videos SET view_count = counts.views FROM video_view_counts AS counts "
                  "WHERE counts.video_id = videos.id")
DROP_TABLE = "DROP TABLE IF EXISTS video_view_counts"


async def _run(*statements: str) -> None:
    engine = engine_finder()
    assert engine is not None
    for statement in statements:
        await engine.run_ddl(statement)


async def move_counts_out() -> None:
    await _run(CREATE_TABLE, FILL_TABLE)


class ViewCountsMigration(MigrationManager):
    """Backwards, the counts go back once the manager has restored their column."""

    async def run(self, backwards: bool = False):
        await super().run(backwards=backwards)
        if backwards and not self.preview:
            await _run(RESTORE_COLUMN, DROP_TABLE)


async def forwards():
    manager = ViewCountsMigration(migration_id=ID, app_name="video", description=DESCRIPTION)
    manager.add_raw(move_counts_out)
    manager.drop_column(
        table_class_name="Video",
        tablename="videos",
        column_name="view_count",
        db_column_name="view_count",
        schema=None,
    )
    return manager
