"""The ASGI entry for uvicorn and containers: `uvicorn core.asgi:app`, config from
`ITUBE_CONFIG` (default config/default.toml)."""

from core.app import create_app
from core.config import load_config
from core.log import configure_logging

_config = load_config()
configure_logging(_config.logging.level)
app = create_app(_config)
