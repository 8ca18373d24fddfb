"""``python -m osclc``: the same as the ``osclc`` command."""

from osclc.lab.cli import main

raise SystemExit(main())
