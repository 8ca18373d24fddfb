"""Validated YAML configs: the kinds a file can be (bench, train, loop), loading, defaults and the generated reference."""
