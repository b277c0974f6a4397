"""Types of the C extension built from _speedups.c (see setup.py); its pure-Python
twin, with the same signature, is consent_mw.html._pure."""

from .scan import ScanState

def skim(state: ScanState, buf: bytes, pos: int, final: bool, /) -> tuple[int, int, int, int]: ...
