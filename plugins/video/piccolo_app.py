"""The video plugin as a Piccolo app: its tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.video.shares.tables import VideoShare
from plugins.video.tables import (
    Video,
    VideoDeletion,
    VideoMultipartUpload,
    VideoStatusHistory,
    VideoViewCount,
)

APP_CONFIG = AppConfig(
    app_name="video",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Video, VideoStatusHistory, VideoDeletion, VideoMultipartUpload,
                   VideoShare, VideoViewCount],
    migration_dependencies=[],
    commands=[],
)
