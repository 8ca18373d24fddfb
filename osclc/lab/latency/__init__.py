"""Latency statistics, the per-stage budget predicted from a bench config, digital baselines and the latency report."""
