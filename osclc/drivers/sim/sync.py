"""Where the simulated camera finds the simulated devices whose sync output triggers its exposures."""

from __future__ import annotations


SYNC_KEY = "sync_sources"
"""``BenchShared.extras`` key of the simulated devices whose sync output can trigger the simulated camera."""
