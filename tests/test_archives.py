"""Keys inside compressed files (issue 16), built the way real tools build them (`gzip`,
`tar`, `zip -e`, zipfile with the real xlsx/docx/pptx/jar/wheel layouts), found at the member,
line and column in `scan`, `scan --staged`, `scan --history` and the `hook` command; and the
traps: a zip bomb stays cheap and bounded, placeholders stay quiet, damaged and encrypted
archives give a note, never a traceback."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import tokens
from tests.conftest import CLI, git, invoke

API = "notion-api-token"
Found = set[tuple[str, int, int, str]]  # path, line, column, preview
Built = tuple[dict[str, bytes], Found]  # files to write, what a scan must report


def at(path: str, text: str, tok: str) -> Found:
    return {(path, line, col, tokens.preview(tok)) for line, col in tokens.positions(text, tok)}


def zipped(members: dict[str, str | bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz(members: dict[str, str], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def env_text(tok: str) -> str:
    return f"# local settings\nDEBUG=1\nNOTION_TOKEN={tok}\n"


def gzip_cli(tmp: Path, rng: random.Random) -> Built:
    """`gzip env.bak`: what a backup script leaves behind."""
    tok = tokens.api_token(rng)
    text = env_text(tok)
    (tmp / "env.bak").write_text(text)
    subprocess.run(["gzip", "env.bak"], cwd=tmp, check=True)
    return {"env.bak.gz": (tmp / "env.bak.gz").read_bytes()}, at("env.bak.gz!env.bak", text, tok)


def zip_env(tmp: Path, rng: random.Random) -> Built:
    tok = tokens.api_token(rng)
    text = env_text(tok)
    data = zipped({"README.txt": "export\n", "config/.env": text})
    return {"backup/export.zip": data}, at("backup/export.zip!config/.env", text, tok)


def xlsx(tmp: Path, rng: random.Random) -> Built:
    """A spreadsheet export: the key is a shared string, as Excel and openpyxl store text."""
    tok = tokens.legacy_token(rng)
    strings = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" '
        'uniqueCount="4"><si><t>name</t></si><si><t>notion key</t></si>'
        f"<si><t>integration</t></si><si><t>{tok}</t></si></sst>"
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    members = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="rels" ContentType="application'
            '/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName='
            '"/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{package}"><Relationship Id="rId1" '
            f'Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rels}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{package}"><Relationship Id="rId1" '
            f'Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            f'Type="{rels}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/sharedStrings.xml": strings,
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>'
            '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
            '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>'
            "</sheetData></worksheet>"
        ),
    }
    return {"exports/keys.xlsx": zipped(members)}, at(
        "exports/keys.xlsx!xl/sharedStrings.xml", strings, tok
    )


def office(part: str, extension: str) -> Callable[[Path, random.Random], Built]:
    def build(tmp: Path, rng: random.Random) -> Built:
        tok = tokens.api_token(rng)
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document><w:body>'
            f"<w:p><w:r><w:t>Integration token: {tok}</w:t></w:r></w:p></w:body></w:document>"
        )
        members = {
            "[Content_Types].xml": '<?xml version="1.0"?><Types/>',
            "_rels/.rels": '<?xml version="1.0"?><Relationships/>',
            "docProps/app.xml": '<?xml version="1.0"?><Properties/>',
            part: body,
        }
        path = f"docs/handbook.{extension}"
        return {path: zipped(members)}, at(f"{path}!{part}", body, tok)

    return build


def jar(tmp: Path, rng: random.Random) -> Built:
    tok = tokens.api_token(rng)
    text = f"spring.application.name=sync\nnotion.token={tok}\n"
    members = {
        "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\nMain-Class: app.Main\r\n",
        "app/Main.class": b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(range(256)),
        "application.properties": text,
    }
    return {"lib/sync.jar": zipped(members)}, at("lib/sync.jar!application.properties", text, tok)


def wheel(tmp: Path, rng: random.Random) -> Built:
    tok = tokens.legacy_token(rng)
    text = f'"""Notion sync."""\n\nNOTION_SECRET = "{tok}"\n'
    members = {
        "notion_sync/__init__.py": "",
        "notion_sync/config.py": text,
        "notion_sync-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n",
        "notion_sync-1.0.dist-info/RECORD": "",
    }
    name = "dist/notion_sync-1.0-py3-none-any.whl"
    return {name: zipped(members)}, at(f"{name}!notion_sync/config.py", text, tok)


def tar_cli(tmp: Path, rng: random.Random) -> Built:
    """`tar czf`: a deployment bundle."""
    tok = tokens.api_token(rng)
    text = env_text(tok)
    (tmp / "bundle" / "app").mkdir(parents=True)
    (tmp / "bundle" / "app" / ".env").write_text(text)
    (tmp / "bundle" / "app" / "main.py").write_text("print('hi')\n")
    subprocess.run(["tar", "czf", "../bundle.tar.gz", "app"], cwd=tmp / "bundle", check=True)
    return {"deploy/bundle.tar.gz": (tmp / "bundle.tar.gz").read_bytes()}, at(
        "deploy/bundle.tar.gz!app/.env", text, tok
    )


def nested(tmp: Path, rng: random.Random) -> Built:
    tok = tokens.api_token(rng)
    text = f"x=1\n  key: {tok}\n"
    inner = tar_gz({"x/.env": text, "x/readme": "nothing\n"})
    data = zipped({"notes.txt": "see inner\n", "inner.tar.gz": inner})
    return {"a.zip": data}, at("a.zip!inner.tar.gz!x/.env", text, tok)


def bzip2_xz(tmp: Path, rng: random.Random) -> Built:
    first, second = tokens.api_token(rng), tokens.legacy_token(rng)
    text_one, text_two = env_text(first), f"# Notion\nsecret = '{second}'\n"
    files = {"dumps/env.bz2": bz2.compress(text_one.encode())}
    files["dumps/settings.py.xz"] = lzma.compress(text_two.encode())
    expected = at("dumps/env.bz2!env", text_one, first)
    return files, expected | at("dumps/settings.py.xz!settings.py", text_two, second)


BUILDERS = {
    "gzip": gzip_cli,
    "zip": zip_env,
    "xlsx": xlsx,
    "docx": office("word/document.xml", "docx"),
    "pptx": office("ppt/slides/slide1.xml", "pptx"),
    "jar": jar,
    "wheel": wheel,
    "tar.gz": tar_cli,
    "nested": nested,
    "bzip2-xz": bzip2_xz,
}


def report(*args: str, cwd: Path) -> tuple[int, Found, str]:
    result = invoke(*args, "--format", "json", cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    findings = json.loads(result.stdout)["findings"]
    got = {(f["path"], f["line"], f["column"], f["preview"]) for f in findings}
    return result.returncode, got, result.stderr


def write_all(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


@pytest.mark.parametrize("name", BUILDERS)
def test_found_at_the_member_everywhere(
    name: str, in_git_dir: Path, tmp_path: Path, rng: random.Random
) -> None:
    files, expected = BUILDERS[name](tmp_path, rng)
    write_all(in_git_dir, files)
    (in_git_dir / "README.md").write_text("nothing here\n")

    assert report("scan", cwd=in_git_dir)[:2] == (1, expected)
    hook = invoke("hook", "--", *files, cwd=in_git_dir)
    assert hook.returncode == 1
    listed = {
        (where, preview)
        for where, _, rest in (line.partition(": ") for line in hook.stdout.splitlines())
        for preview in rest.split()[1:2]
    }
    assert {(f"{path}:{line}:{column}", preview) for path, line, column, preview in expected} <= (
        listed
    )

    git("add", "-A", cwd=in_git_dir)
    assert report("scan", "--staged", cwd=in_git_dir)[:2] == (1, expected)
    git("commit", "-q", "--no-verify", "-m", "add", cwd=in_git_dir)
    for path in files:
        os.remove(in_git_dir / path)
    git("commit", "-q", "--no-verify", "-am", "remove", cwd=in_git_dir)
    assert report("scan", "--history", cwd=in_git_dir)[:2] == (1, expected)


def test_staged_binary_archive_counts_only_new_keys(in_git_dir: Path, rng: random.Random) -> None:
    old, new = tokens.api_token(rng), tokens.api_token(rng)
    (in_git_dir / "keys.zip").write_bytes(zipped({".env": env_text(old)}))
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "old", cwd=in_git_dir)
    text = env_text(old) + f"NEXT={new}\n"
    (in_git_dir / "keys.zip").write_bytes(zipped({".env": text}))
    git("add", "-A", cwd=in_git_dir)
    assert report("scan", "--staged", cwd=in_git_dir)[:2] == (1, at("keys.zip!.env", text, new))


def test_placeholders_inside_archives_are_not_findings(in_git_dir: Path) -> None:
    text = "NOTION_TOKEN=ntn_" + "0" * 46 + "\nNOTION_SECRET=secret_" + "x" * 43 + "\n"
    (in_git_dir / "template.zip").write_bytes(zipped({"config/.env.example": text}))
    (in_git_dir / "template.env.gz").write_bytes(gzip.compress(text.encode()))
    code, found, stderr = report("scan", cwd=in_git_dir)
    assert (code, found, stderr) == (0, set(), "")


def test_a_stored_member_in_a_damaged_zip_is_still_found(
    in_git_dir: Path, rng: random.Random
) -> None:
    """Cut before its central directory, a zip cannot be opened: its bytes are scanned as
    they are (a stored member's key is there), and a note says why."""
    tok = tokens.api_token(rng)
    data = zipped({"a.env": f"K={tok}\n" + "pad\n" * 5000}, zipfile.ZIP_STORED)
    (in_git_dir / "cut.zip").write_bytes(data[: len(data) - 200])
    code, found, stderr = report("scan", cwd=in_git_dir)
    assert code == 1
    assert {(path, preview) for path, _line, _column, preview in found} == {
        ("cut.zip", tokens.preview(tok))
    }
    assert "cut.zip: a damaged zip archive" in stderr


@pytest.mark.parametrize(
    ("name", "damage", "note"),
    [
        ("truncated.gz", lambda d: d[: len(d) // 2], "truncated.gz: damaged (the compressed"),
        ("garbage.gz", lambda d: d[:12] + b"\xff" * 64, "garbage.gz: a damaged gzip archive"),
        ("short.zip", lambda d: d[:30], "short.zip: a damaged zip archive"),
        ("flipped.zip", lambda d: _flip_member(d), "flipped.zip!data.txt: "),
        ("truncated.tar.gz", lambda d: d[: len(d) // 2], "truncated.tar.gz"),
        ("truncated.xz", lambda d: d[: len(d) // 2], "truncated.xz: damaged (Compressed"),
    ],
)
def test_damaged_archives_give_a_note(
    in_git_dir: Path, rng: random.Random, name: str, damage: Callable[[bytes], bytes], note: str
) -> None:
    text = "".join(f"{rng.random()}\n" for _ in range(20000))
    if name.endswith(".zip"):
        data = zipped({"data.txt": text})
    elif name.endswith(".tar.gz"):
        data = tar_gz({"data.txt": text})
    elif name.endswith(".xz"):
        data = lzma.compress(text.encode())
    else:
        data = gzip.compress(text.encode())
    (in_git_dir / name).write_bytes(damage(data))
    code, found, stderr = report("scan", cwd=in_git_dir)
    assert (code, found) == (0, set())
    assert f"note: {note}" in stderr, stderr


def _flip_member(data: bytes) -> bytes:
    """A zip whose member's deflate stream is corrupted (its CRC no longer matches)."""
    middle = len(data) // 3
    return data[:middle] + bytes(b ^ 0x55 for b in data[middle : middle + 64]) + data[middle + 64 :]


def test_an_encrypted_member_is_a_note(
    in_git_dir: Path, tmp_path: Path, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    (tmp_path / "secret.env").write_text("locked\n")
    (tmp_path / "open.env").write_text(env_text(tok))
    subprocess.run(["zip", "-q", "-e", "-P", "pw", "locked.zip", "secret.env"], cwd=tmp_path)
    subprocess.run(["zip", "-q", "locked.zip", "open.env"], cwd=tmp_path, check=True)
    os.rename(tmp_path / "locked.zip", in_git_dir / "locked.zip")
    code, found, stderr = report("scan", cwd=in_git_dir)
    assert (code, found) == (1, at("locked.zip!open.env", env_text(tok), tok))
    assert "note: locked.zip!secret.env: an encrypted zip member: not scanned" in stderr


def test_nesting_is_bounded(in_git_dir: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    data = zipped({".env": env_text(tok)})
    for _ in range(3):
        data = zipped({"inner.zip": data})
    (in_git_dir / "deep.zip").write_bytes(data)
    (in_git_dir / "three.zip").write_bytes(
        zipped({"a.zip": zipped({"b.zip": zipped({".env": env_text(tok)})})})
    )
    code, found, stderr = report("scan", cwd=in_git_dir)
    assert (code, found) == (1, at("three.zip!a.zip!b.zip!.env", env_text(tok), tok))
    limit = "deep.zip!inner.zip!inner.zip!inner.zip: an archive nested more than 3 deep"
    assert f"note: {limit}" in stderr


def test_a_key_before_a_bomb_is_found(in_git_dir: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb") as out:
        out.write(env_text(tok).encode())
        for _ in range(64):
            out.write(bytes(1 << 20))
    (in_git_dir / "dump.gz").write_bytes(stream.getvalue())
    code, found, stderr = report("scan", cwd=in_git_dir)
    assert (code, found) == (1, at("dump.gz!dump", env_text(tok), tok))
    assert "note: dump.gz: stopped after " in stderr
    assert "MiB: it expands more than 100 times (a decompression bomb?)" in stderr


_MEASURE = """
import resource, subprocess, sys, time
start = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, time.monotonic() - start,
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, sep="\\n")
sys.stderr.write(done.stderr)
"""


def _bomb_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        member = archive.open("zeros.bin", "w", force_zip64=True)
        block = bytes(1 << 20)
        with member:
            for _ in range(1024):
                member.write(block)


@pytest.mark.parametrize("how", ["zip", "tar.gz", "from git"])
def test_a_zip_bomb_is_cheap_and_bounded(in_git_dir: Path, tmp_path: Path, how: str) -> None:
    """1 GiB of zeros in about 1 MiB: seconds, bounded memory, and a note."""
    bomb = in_git_dir / "bomb.zip"
    _bomb_zip(bomb)
    if how == "tar.gz":
        with zipfile.ZipFile(bomb) as archive, archive.open("zeros.bin") as zeros:
            target = in_git_dir / "bomb.tar.gz"
            with tarfile.open(target, "w:gz", compresslevel=1) as tar:
                info = tarfile.TarInfo("zeros.bin")
                info.size = 1 << 30
                tar.addfile(info, zeros)
        bomb.unlink()
        bomb = target
    assert bomb.stat().st_size < 8 << 20
    args = ["scan", bomb.name] if how != "from git" else ["scan", "--history"]
    if how == "from git":
        git("add", "-A", cwd=in_git_dir)
        git("commit", "-q", "--no-verify", "-m", "bomb", cwd=in_git_dir)
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE, *CLI, *args],
        cwd=in_git_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    code, _seconds, peak_kib = measured.stdout.split()
    assert (int(code), measured.stderr.count("Traceback")) == (0, 0)
    assert "note: bomb." in measured.stderr and "rest was not scanned" in measured.stderr
    # Bounded work is what the note proves (the cap was reached, the rest skipped); the time
    # it takes (about a second here) is measured, not asserted: speed lives in bench/.
    assert int(peak_kib) < 200 << 10, f"peak RSS {int(peak_kib) >> 10} MiB"


def test_only_archives_pay(tmp_path: Path) -> None:
    """A file is opened as an archive only when its first bytes say so: a text file named
    .zip, or one that starts with `PK`, is scanned as text."""
    from notion_leakguard import archives
    from notion_leakguard.findings import Note

    notes: list[Note] = []
    blocks = [b"PK is a text that mentions zip files", b" and more"]
    pieces = list(archives.pieces("notes.zip", iter(blocks), notes))
    assert [(p.path, b"".join(p.blocks)) for p in pieces] == [("notes.zip", b"".join(blocks))]
    assert notes == []
    assert [
        (p.path, b"".join(p.blocks)) for p in archives.pieces("a.py", iter([b"x\n"]), notes)
    ] == [("a.py", b"x\n")]


def test_a_scan_without_archives_never_imports_the_archive_readers() -> None:
    """tarfile and zipfile are imported only once a file's first bytes say "archive": a
    hook run over source files does not pay for them."""
    code = (
        "import sys\n"
        "from notion_leakguard.pipeline import scan\n"
        "from notion_leakguard.sources import Fragment\n"
        "scan([Fragment('a.py', b'x = 1\\n' * 100)], root='.', jobs=1)\n"
        "print(sorted(m for m in ('tarfile', 'zipfile', 'notion_leakguard.archives.expand')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_zip_from_git_over_the_memory_limit_is_scanned_as_bytes(
    in_git_dir: Path, rng: random.Random, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip from git needs random access, so it is held in memory; over the limit its
    bytes are scanned as they are (a stored member's key still shows) and a note says so."""
    from notion_leakguard.archives import expand

    monkeypatch.setattr(expand, "BUFFERED", 4 << 20)
    tok = tokens.api_token(rng)
    filler = "".join(f"{rng.random()}\n" for _ in range(300000))  # about 6 MB
    data = zipped({"a.env": env_text(tok), "filler.txt": filler}, zipfile.ZIP_STORED)
    (in_git_dir / "big.zip").write_bytes(data)
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "big", cwd=in_git_dir)
    code, found, stderr = report("scan", "--history", cwd=in_git_dir)
    assert code == 1
    assert {(path, preview) for path, _, _, preview in found} == {("big.zip", tokens.preview(tok))}
    assert "note: big.zip: a zip archive over 4 MiB read from git" in stderr
    assert report("scan", cwd=in_git_dir)[:2] == (1, at("big.zip!a.env", env_text(tok), tok))


def _tar(members: dict[str, str]) -> bytes:
    return tar_gz(members, mode="w")


def test_bytes_outside_the_members_are_scanned_too(in_git_dir: Path, rng: random.Random) -> None:
    """A key in a zip's comment, text appended after a zip or a tar, a second tar joined
    with `cat`: the raw bytes held them before archives were opened, and still count."""
    comment_key, appended_key, joined_key, member_key = (tokens.api_token(rng) for _ in range(4))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", "hello\n")
        archive.comment = f"\nNOTION={comment_key}\n".encode()
    files = {
        "comment.zip": buffer.getvalue(),
        "appended.zip": zipped({"a.txt": "x\n"}) + f"\nNOTION={appended_key}\n".encode(),
        "cat.tar": _tar({"a.txt": "x\n"}) + _tar({"b.env": f"KEY={joined_key}\n"}),
        "member.tar": _tar({"c.env": f"KEY={member_key}\n"}),
    }
    write_all(in_git_dir, files)
    code, found, _ = report("scan", ".", cwd=in_git_dir)
    assert code == 1
    shown = {(path, preview) for path, _, _, preview in found}
    assert shown == {
        ("comment.zip", tokens.preview(comment_key)),
        ("appended.zip", tokens.preview(appended_key)),
        ("cat.tar", tokens.preview(joined_key)),
        ("member.tar!c.env", tokens.preview(member_key)),  # once, at its member
    }


def test_a_tar_read_only_to_its_end_marker_does_not_stop_a_history_scan(
    in_git_dir: Path, rng: random.Random
) -> None:
    """tarfile stops at the first end marker; the rest of the blob must still be read, or
    git's object stream goes out of step and every later key is lost."""
    joined_key, later_key = tokens.api_token(rng), tokens.legacy_token(rng)
    cat_tar = _tar({"a.txt": "x\n"}) + _tar({"b.env": f"KEY={joined_key}\n"})
    write_all(in_git_dir, {"cat.tar": cat_tar})
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "archive", cwd=in_git_dir)
    (in_git_dir / "app.py").write_text(f'NOTION = "{later_key}"\n')
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "app", cwd=in_git_dir)
    code, found, stderr = report("scan", "--history", cwd=in_git_dir)
    assert (code, "error" in stderr) == (1, False), stderr
    assert {(path, preview) for path, _, _, preview in found} == {
        ("cat.tar", tokens.preview(joined_key)),
        ("app.py", tokens.preview(later_key)),
    }
