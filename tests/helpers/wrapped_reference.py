"""The line-by-line reading of wrapped base64 that encodings._wrapped replaced (it matches
the whole lines with one regular expression): slow and plain, kept to check the fast one
(tests/test_encodings.py). Returns the joined run, where it starts and ends, and for each
offset in the run where its character is stored."""

from __future__ import annotations

from notion_leakguard.encodings import _ends_line, _hex_line, _line_start, _starts_line


def wrapped(
    buffer: bytes, classes: bytes, start: int, end: int, floor: int
) -> tuple[bytes, int, int, list[int]] | None:
    width = end - start
    if not _ends_line(buffer, end) and not _starts_line(buffer, start):
        return None
    first = start
    while first > floor and _starts_line(buffer, first):
        above = buffer.rfind(b"\n", 0, first)
        if above <= 0:
            break
        above_end = above - 1 if buffer[above - 1] == 0x0D else above
        above_start = classes.rfind(b" ", 0, above_end) + 1
        if above_end - above_start != width or _hex_line(buffer[above_start:above_end]):
            break
        first = above_start
    starts, ends = [first], []
    while True:
        line_end = classes.find(b" ", starts[-1])
        line_end = len(buffer) if line_end == -1 else line_end
        ends.append(line_end)
        if line_end - starts[-1] != width or not _ends_line(buffer, line_end):
            break
        following = _line_start(buffer, line_end)
        if following >= len(buffer) or classes[following] == 0x20:
            break
        after = classes.find(b" ", following)
        after = len(buffer) if after == -1 else after
        if after - following > width or _hex_line(buffer[following:after]):
            break
        starts.append(following)
    if len(starts) == 1:
        return None
    stored = [at for s, e in zip(starts, ends) for at in range(s, e)]
    run = b"".join(buffer[s:e] for s, e in zip(starts, ends))
    return run, first, ends[-1], stored
