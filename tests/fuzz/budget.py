"""How much fuzzing a run does, from the environment: `make test` runs the short default,
`make fuzz` sets both (docs/testing.md)."""

from __future__ import annotations

import os

# Generated examples per operation and pass (the examples and coverage phases add theirs).
MAX_EXAMPLES = int(os.environ.get("ITUBE_FUZZ_EXAMPLES", "15"))
# The database backends a server is started on, one after the other.
DATABASES = os.environ.get("ITUBE_FUZZ_DATABASES", "sqlite").split(",")
