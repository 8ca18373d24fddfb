"""The lab: inference loop, latency, run records and the ``osclc`` command line."""
