"""Device interfaces, real backends (slmsuite, pyvisa, pyserial) and the simulated 4f bench."""
