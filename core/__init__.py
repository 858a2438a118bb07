"""The itube kernel: config, plugin manager, hookspecs, app factory and HTTP foundation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("itube")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
