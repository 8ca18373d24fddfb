"""Real backends: slmsuite SLMs and cameras, SCPI lasers over pyvisa, serial lasers over pyserial."""
