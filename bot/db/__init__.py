"""Orders database: models, engine/session handling and demo data."""
from bot.db.session import (
    DEFAULT_DATABASE_URL,
    acquire_setup_lock,
    create_schema,
    database_url,
    dispose_engines,
    get_engine,
    lock_for_write,
    session_scope,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "acquire_setup_lock",
    "create_schema",
    "database_url",
    "dispose_engines",
    "get_engine",
    "lock_for_write",
    "session_scope",
]
