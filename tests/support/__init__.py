"""Helpers shared by the test packages: services, configs, stand-in plugins."""
