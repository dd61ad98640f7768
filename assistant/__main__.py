"""``python -m assistant``."""

from .app.cli import main

raise SystemExit(main())
