"""`python -m app.admin`: the operator commands."""
import sys

from app.admin.cli import main, reexec_with_threads

reexec_with_threads(sys.argv[1:])
sys.exit(main())
