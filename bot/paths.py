"""Well-known project paths."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"  # git-ignored local state (SQLite file, caches)
