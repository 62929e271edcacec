"""Settings for the type checker (mypy's django plugin, in `make lint` and pre-commit): the test settings,
with placeholder database and Redis addresses when the environment has none. The plugin imports the
settings and every app's models; it never connects, so nothing needs to answer at these addresses."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://typecheck@127.0.0.1:5432/typecheck")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

from config.settings_test import *  # noqa: F403
