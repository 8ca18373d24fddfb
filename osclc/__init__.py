"""osclc: the optical SCLC lab framework.

Subpackages (import direction as in DESIGN.md: ``models`` and ``drivers`` import nothing
else of the project, ``calibration`` may import both, ``lab`` may import all three):

- :mod:`osclc.models`: teacher CNNs, SCLC students, KD training, folding;
- :mod:`osclc.drivers`: device interfaces, real backends and the simulated 4f bench;
- :mod:`osclc.calibration`: bench measurements and the student-to-SLM compiler;
- :mod:`osclc.lab`: inference loop, latency reports, run records and the ``osclc`` CLI.
"""

__version__ = "0.1.0"
