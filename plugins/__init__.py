"""Built-in plugins, each loaded by its short name from the config."""
