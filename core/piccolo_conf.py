"""The module Piccolo looks up through `PICCOLO_CONF`.

Piccolo finds its engine through a module attribute. The kernel sets `DB` when an app
starts (`core.db.bind`), so migrations and tables use the app's engine. For Piccolo's own
CLI (`piccolo migrations new video --auto`), `APP_REGISTRY` lists the plugins of the config
named by `ITUBE_CONFIG`.
"""

from __future__ import annotations

from typing import Any

DB: Any = None


def __getattr__(name: str) -> Any:
    if name == "APP_REGISTRY":
        from core.db import registry_from_environment

        return registry_from_environment()
    raise AttributeError(name)
