"""advocacy: a grassroots advocacy toolkit for a league of cities."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
TEMPLATES_DIR = PROJECT_DIR / "templates"
STATIC_DIR = PROJECT_DIR / "static"
DATA_DIR = PACKAGE_DIR / "data"
