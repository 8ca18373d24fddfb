"""pyvisa-sim instrument definitions shipped with the package (opened by the unchanged drivers)."""
