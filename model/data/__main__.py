"""`python -m model.data`: fetch and verify MNIST into the cache (the front end is model.cli.data)."""
import sys

from model.cli.data import main

sys.exit(main())
