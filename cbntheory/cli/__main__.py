"""``python -m cbntheory.cli`` runs the ``cbn`` command."""
import sys

from . import main

sys.exit(main())
