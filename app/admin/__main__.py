"""`python -m app.admin`: the operator commands."""
import sys

from app.admin.cli import main

sys.exit(main())
