"""`python -m app.admin`: the operator commands (app/admin/cli.py)."""
import sys

from app.admin.cli import main

sys.exit(main())
