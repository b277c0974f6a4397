"""Types of the C extension built from _speedups.c (see setup.py)."""

from typing import Any

from typing_extensions import Buffer

CONSTANTS: dict[str, Any]

def skim(
    buf: Buffer,
    pos: int,
    final: bool,
    max_hold: int,
    mode: int,
    noscript: bool,
    script_state: int,
    until_kind: bytes,
    held: bool,
    injected: bool,
    doc_start: bool,
    /,
) -> tuple[int, int, int, bool, int, bytes, int, int]: ...
def find_candidate(
    buf: Buffer, pos: int, noscript: bool, max_hold: int, /
) -> tuple[int, int, str | None] | None: ...
def lower(buf: Buffer, /) -> bytes: ...
def plain_bounds(max_hold: int, /) -> tuple[int, int, int, int]: ...
