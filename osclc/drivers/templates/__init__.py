"""Templates for a new vendor backend: copy one file, fill in the _hw hooks, add one line to backends.BACKEND_MODULES."""
