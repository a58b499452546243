"""The optional accelerator (accelerator.py, needles.py) gives exactly the findings of the
pure passes: the scanner's own tests run again with every buffer checked against the
pre-check, hidden keys in every form the scanner reads are found with it on and off, and
the needles themselves are checked with Python's `re`, so that part holds on a platform
without hyperscan too."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from notion_leakguard import accelerator, needles
from notion_leakguard.scanner import scan_blocks, scan_bytes
from tests import tokens
from tests.conftest import run_cli

HAVE_HYPERSCAN = importlib.util.find_spec("hyperscan") is not None
ROOT = Path(__file__).resolve().parent.parent
RNG = random.Random(20261201)
NTN, LEGACY = tokens.api_token(RNG), tokens.legacy_token(RNG)
COOKIE, OLD = tokens.cookie(RNG), tokens.hex_cookie(RNG, 156)
KEYS = (NTN, LEGACY, COOKIE, tokens.cookie(RNG, encoded=False))


def _b64(data: bytes, *, urlsafe: bool = False) -> bytes:
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data)


def _wrapped(data: bytes, width: int, indent: bytes = b"", newline: bytes = b"\n") -> bytes:
    return newline.join(indent + data[i : i + width] for i in range(0, len(data), width))


def _percent(text: str, *, lower: bool = False) -> str:
    encoded = "".join(f"%{byte:02X}" for byte in text.encode())
    return encoded.lower() if lower else encoded


def _forms(key: str) -> list[bytes]:
    """The key stored in each way the scanner reads, amid other text."""
    head, _, tail = key.partition("_")
    env = f"# settings\nNOTION_TOKEN={key}\nDEBUG=1\n".encode()
    forms = [
        key.encode(),
        f"{head}%5F{tail}".encode(),
        f"{head}%5f{tail}".encode(),
        f'{{"k": "{head}\\u005f{tail}"}}'.encode(),
        _percent(key).encode(),
        _percent(key, lower=True).encode(),
        b"key=" + env.hex().encode(),
        b"key=" + env.hex().upper().encode(),
        b"\0binary\0" + key.encode() + b"\0",
    ]
    for pad in range(3):
        raw = b"x" * pad + env
        forms += [b"v: " + _b64(raw), b"v: " + _b64(raw, urlsafe=True)]
        forms.append(b"auth: " + _b64(b'{"auth": "' + _b64(raw) + b'"}'))
        forms.append(b"auth: " + _b64(b"u:" + _b64(raw, urlsafe=True)))
        forms.append(_b64(b"hex=" + raw.hex().encode()))
    for width, indent, newline in ((64, b"", b"\n"), (76, b"    ", b"\r\n"), (65, b"\t", b"\n")):
        for pad in range(3):
            raw = b"y" * pad + env * 3
            forms.append(b"data: |\n" + _wrapped(_b64(raw), width, indent, newline) + b"\n")
            inner = _wrapped(_b64(raw), width, indent, newline)
            forms.append(b"outer: " + _b64(b"x" * pad + inner))
            forms.append(b"both:\n" + _wrapped(_b64(inner), width, indent, newline) + b"\n")
    return forms


def _cookie_forms() -> list[bytes]:
    return [
        f'cookies = [{{"name": "token_v2", "value": "{OLD}"}}]'.encode(),
        f'client = NotionClient("{OLD}")'.encode(),
        f'# Notion\nTOKEN = "{OLD}"\n'.encode(),
        f"token_v2={OLD}\n".encode(),
        ("v02%253Auser_token_or_cookies%253A" + COOKIE.split("%3A")[-1]).encode(),
    ]


CASES = [form for key in KEYS for form in _forms(key)] + _cookie_forms()


def test_the_accelerator_is_used_where_hyperscan_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = accelerator.gate()
    assert (gate is not None) == HAVE_HYPERSCAN
    if gate is not None:
        assert gate(b"".join(CASES), False) and not gate(b"plain text, no key here\n" * 1000, False)
        assert gate(b"\0" + NTN.encode(), True) and not gate(b"\0" + _b64(NTN.encode()), True)
    monkeypatch.setenv(accelerator.ENV, "0")
    assert accelerator.gate() is None


def test_a_damaged_cache_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    accelerator._gate.cache_clear()
    try:
        built = accelerator.gate()
        stored = list((tmp_path / "notion-leakguard").glob("*.hsdb"))
        assert (built is not None) == HAVE_HYPERSCAN == (len(stored) == 1)
        header = accelerator._HEADER
        for damage in (
            b"",
            b"[[], 10]\n" + b"\0" * 100,
            header.pack(3, 5, 0, 9) + b"\0" * 40,  # a needle beyond the count
            header.pack(3, 5, 1, 1) + b"\0" * 40,
            header.pack(5515, 50, 0, 1) + os.urandom(200),
            header.pack(0xFFFFFFF0, 5, 0, 1) + b"\0" * 40,  # would ask for 32 GB
        ):
            for path in stored:
                path.write_bytes(damage)
            accelerator._gate.cache_clear()
            gate = accelerator.gate()
            if gate is not None:
                assert gate(b"x=" + NTN.encode(), False) and not gate(b"x=1\n", False)
    finally:
        accelerator._gate.cache_clear()


def test_a_processor_hyperscan_refuses_leaves_the_pure_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if HAVE_HYPERSCAN:
        import hyperscan

        def refuse(*_: object) -> None:
            raise hyperscan.ArchitectureError("no SSSE3")

        monkeypatch.setattr(hyperscan, "Scratch", refuse)
    accelerator._gate.cache_clear()
    try:
        assert accelerator.gate() is None
    finally:
        accelerator._gate.cache_clear()


@pytest.mark.parametrize("index", range(len(CASES)))
def test_every_hidden_form_is_found_with_and_without_the_accelerator(index: int) -> None:
    data = CASES[index]
    pure = scan_bytes(data, "f")
    assert pure, data[:80]
    gate = accelerator.gate()
    if gate is not None:
        assert gate(data, b"\0" in data)
        assert scan_bytes(data, "f", gate=gate) == pure
        for size in (5, 61, 300):
            blocks = [data[i : i + size] for i in range(0, len(data), size)]
            assert list(scan_blocks(blocks, "f", gate=gate)) == pure
    assert _holds_needle(data)  # Python's `re` over the same needles


@pytest.mark.parametrize("data", (b"\0binary" * 800_000, b"text line\n" * 600_000))
def test_a_buffer_turned_away_is_judged_all_the_same(data: bytes) -> None:
    # The next buffer starts where this one was judged: a pre-check that says no must not
    # make the scanner carry the whole stream along (each byte is looked at about once).
    seen: list[int] = []

    def never(buffer: bytes, binary: bool) -> bool:
        seen.append(len(buffer))
        return False

    blocks = [data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)]
    assert list(scan_blocks(blocks, "f", gate=never)) == []
    assert len(seen) == len(blocks) and sum(seen) < 1.1 * len(data)


def _compiled() -> list[tuple[re.Pattern[bytes], str]]:
    return [
        (re.compile(n.pattern, re.IGNORECASE if n.caseless else 0), n.kind)
        for n in needles.needles()
    ]


_NEEDLES = _compiled()


def _holds_needle(data: bytes) -> bool:
    kinds = {kind for pattern, kind in _NEEDLES if pattern.search(data)}
    return needles.ANY in kinds or {needles.KEY, needles.NOTION} <= kinds


def test_needles_come_from_the_formats() -> None:
    # Every anchor of every format has needles: percent-encoded, as hex, as base64.
    for anchor in needles.anchors():
        assert _holds_needle(_percent(anchor.decode()).encode())
        assert _holds_needle(b"x" + anchor.hex().upper().encode())
        assert all(_holds_needle(b"=" + _b64(b"ab"[:pad] + anchor)) for pad in range(3))
    assert not _holds_needle(b"nothing to see here: secret_ alone, token, ntn")


def test_the_scanner_tests_pass_with_every_buffer_checked() -> None:
    """Rerun the scanner's tests (the reference implementation's generated documents with
    block edges, the hiding forms, the scanner and encodings tables, the properties) with
    the plugin that puts every buffer to the pre-check."""
    tests = ["test_reference.py", "test_hiding.py", "test_scanner.py", "test_encodings.py"]
    tests.append("test_properties.py")
    if not HAVE_HYPERSCAN:
        # Without the wheel the scan is the pure one: the plugin must refuse to run.
        assert accelerator.gate() is None
        return
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n0", "-p", "no:cacheprovider"]
        + ["-p", "tests.helpers.differential"]
        + [f"tests/{name}" for name in tests],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTEST_ADDOPTS": ""},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    seen, away = map(int, re.search(r"differential: (\d+) buffers, (\d+)", run.stdout).groups())
    assert 0 < away < seen  # the pre-check both turned buffers away and let them through


def test_a_large_scan_finds_the_same_with_and_without_the_accelerator(tmp_path: Path) -> None:
    # 450 files: the scan goes parallel, where the accelerator is used when installed.
    for index in range(450):
        form = CASES[index % len(CASES)] if index % 9 == 0 else b"nothing here\n" * 50
        (tmp_path / f"f{index:03}.txt").write_bytes(form)
    # Keys as names too: the pre-check passes over most paths (filenames.in_name).
    head, _, tail = NTN.partition("_")
    for name in (f"cache-{NTN}.json", f"{head}%5F{tail}", _b64(LEGACY.encode()).decode()):
        (tmp_path / name).write_bytes(b"{}")
    reports = []
    for setting in ("1", "0"):
        out = tmp_path.parent / f"report-{setting}.json"
        run = run_cli(
            "scan",
            str(tmp_path),
            "--format",
            "json",
            "--output",
            str(out),
            cwd=tmp_path,
            env={accelerator.ENV: setting},
        )
        assert run.returncode == 1, run.stderr
        reports.append(json.loads(out.read_text())["findings"])
    assert reports[0] == reports[1] and len(reports[0]) >= 50
    assert sum(finding["line"] == 0 for finding in reports[0]) == 3


@pytest.mark.parametrize("uncounted", (0, 3 << 20, 16 << 20))
def test_lines_passed_over_still_count_for_a_key_further_down(
    uncounted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lines of buffers the pre-check turns away are counted only when a later buffer
    # is scanned: the key's line and column must be those of the pure scan.
    import notion_leakguard.scanner as scanner

    monkeypatch.setattr(scanner, "_UNCOUNTED", uncounted)
    lines = b"\xef\xbb\xbfl\xc3\xa9ne\r\n" + b"text line \xe2\x82\xac\n" * 150_000
    minified = b"var a=1;" * 300_000  # over two blocks without a line break
    for data in (
        lines + NTN.encode() + b"\n",
        lines + minified + b' k="' + NTN.encode() + b'"',
        minified + b"\n" + lines + b"x " + LEGACY.encode(),
        b"\xef\xbb\xbf\xc3\xa9" + minified + b" " + NTN.encode(),  # line 1, after a BOM
    ):
        blocks = [data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)]
        pure = list(scan_blocks(blocks, "f"))
        at = max(data.find(NTN.encode()), data.find(LEGACY.encode()))
        line_start = data.rfind(b"\n", 0, at) + 1
        column = len(data[line_start:at].removeprefix(b"\xef\xbb\xbf").decode()) + 1
        assert [(f.line, f.column) for f in pure] == [(data.count(b"\n", 0, at) + 1, column)]
        gates = [lambda buffer, binary: NTN.encode()[:4] in buffer or b"secret_" in buffer]
        if accelerator.gate() is not None:
            gates.append(accelerator.gate())
        for gate in gates:
            assert list(scan_blocks(blocks, "f", gate=gate)) == pure


def test_buffers_passed_over_hold_bounded_memory() -> None:
    # Lines wait uncounted, but never more than scanner._UNCOUNTED bytes of buffers, however
    # small the blocks (each small block's buffer carries up to 64 KiB of context).
    import tracemalloc

    import notion_leakguard.scanner as scanner

    line = b"x" * (40 << 20)  # no line break: every buffer keeps the most context

    def never(buffer: bytes, binary: bool) -> bool:
        return False

    tracemalloc.start()
    try:
        blocks = (line[i : i + 4096] for i in range(0, len(line), 4096))
        assert list(scan_blocks(blocks, "f", gate=never)) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * scanner._UNCOUNTED


def test_a_history_read_in_parts_finds_the_same_with_and_without_the_accelerator(
    in_git_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blobs read whole skip the scanner when the pre-check turns them away
    (scanner.gated_out): every hidden form, in a gzip, as UTF-16, in a name, in a blob read
    in blocks, and next to blobs that hold nothing, by parts read in parallel."""
    import gzip

    from notion_leakguard.commands.scan import scan_history
    from notion_leakguard.sources import history

    repo = in_git_dir
    rng = random.Random(5)
    named = tokens.api_token(rng)  # in a file's name, nowhere else
    zipped, wide, far = tokens.api_token(rng), tokens.legacy_token(rng), tokens.api_token(rng)
    extra = [
        gzip.compress(b"x = 1\n" + zipped.encode() + b"\n", mtime=0),
        f"K = '{wide}'\n".encode("utf-16"),
        b"big = 1\n" * (1 << 18) + far.encode() + b"\n",  # 2 MiB: read in blocks
    ]
    contents = CASES + extra
    for index, data in enumerate(contents):
        (repo / f"f{index % 7}.txt").write_bytes(data)
        (repo / "plain.txt").write_text(f"nothing {index}\n" * 40)
        if index == 5:
            (repo / f"cache-{named}.json").write_text("{}")
        git_run = ["git", "-c", "user.name=T", "-c", "user.email=t@e"]
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run([*git_run, "commit", "-qm", f"c{index}"], cwd=repo, check=True)
    monkeypatch.setattr(history.Parts, "records", 20)
    results = []
    for setting in ("1", "0"):
        monkeypatch.setenv(accelerator.ENV, setting)
        results.append(scan_history(str(repo), [], all_refs=False, jobs=2))
    assert results[0] == results[1]
    found = results[0].findings
    assert len(found) >= len(KEYS)
    assert [f.path for f in found if f.line == 0] == [f"cache-{named}.json"]
    expected = {tokens.preview(key) for key in (NTN, LEGACY, zipped, wide, far, named)}
    assert expected <= {f.preview for f in found}
