"""`python -m model.data`: fetch and verify MNIST into the cache."""
import sys

from model.data.mnist import main

sys.exit(main())
