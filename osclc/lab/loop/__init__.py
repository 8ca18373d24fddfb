"""The pipelined inference loop: optical capture of frame n+1 overlaps the backend of frame n; per-frame records with stage timestamps."""
