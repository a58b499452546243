"""Red-team cases for archives (issue 16): places a key hides that the first version passed
over, each built the way real tools build it."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import tarfile
import zipfile
from pathlib import Path

from tests import tokens
from tests.conftest import invoke

API = "notion-api-token"
Found = set[tuple[str, int, str]]  # path, line, preview


def report(*args: str, cwd: Path) -> tuple[int, Found, str]:
    result = invoke(*args, "--format", "json", cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    findings = json.loads(result.stdout)["findings"]
    found = {(f["path"], f["line"], f["preview"]) for f in findings}
    return result.returncode, found, result.stderr


def test_names_of_members_that_are_not_read_are_still_places(
    in_git_dir: Path, tmp_path: Path, rng: random.Random
) -> None:
    """An encrypted member, a directory entry, a tar directory and symlink: none is read,
    but a key in their names is reported (redacted), as for files on disk."""
    locked, folder, tar_dir, link = (tokens.api_token(rng) for _ in range(4))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{locked}.json").write_text("{}\n")
    subprocess.run(
        ["zip", "-q", "-e", "-P", "pw", "locked.zip", f"cache/{locked}.json"],
        cwd=tmp_path,
        check=True,
    )
    os.rename(tmp_path / "locked.zip", in_git_dir / "locked.zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"sessions/{folder}/", b"")
    (in_git_dir / "dirs.zip").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(f"state/{tar_dir}")
        info.type = tarfile.DIRTYPE
        archive.addfile(info)
        info = tarfile.TarInfo(f"current-{link}")
        info.type = tarfile.SYMTYPE
        info.linkname = "state"
        archive.addfile(info)
    (in_git_dir / "links.tar").write_bytes(buffer.getvalue())

    code, found, stderr = report("scan", cwd=in_git_dir)
    p = tokens.preview
    assert (code, found) == (
        1,
        {
            (f"locked.zip!cache/{p(locked)}.json", 0, p(locked)),
            (f"dirs.zip!sessions/{p(folder)}", 0, p(folder)),
            (f"links.tar!state/{p(tar_dir)}", 0, p(tar_dir)),
            (f"links.tar!current-{p(link)}", 0, p(link)),
        },
    )
    assert f"note: locked.zip!cache/{p(locked)}.json: an encrypted zip member" in stderr
    for tok in (locked, folder, tar_dir, link):
        assert tok[len("ntn_") + 4 :] not in stderr


def test_a_self_extracting_zip_is_opened(
    in_git_dir: Path, tmp_path: Path, rng: random.Random
) -> None:
    """A zip appended to a program (`cat stub.sh a.zip > setup.sh; zip -A setup.sh`, or to
    an .exe) starts with the program's bytes: its deflated members are still read. A
    script or program without a zip after it gives nothing and no note."""
    tok = tokens.api_token(rng)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / ".env").write_text(f"DEBUG=1\nNOTION_TOKEN={tok}\n" + "x=1\n" * 50)
    subprocess.run(["zip", "-q", "-r", "a.zip", "config"], cwd=tmp_path, check=True)
    archive = (tmp_path / "a.zip").read_bytes()
    script = b'#!/bin/sh\nexec unzip -o "$0"\n'
    (in_git_dir / "setup.sh").write_bytes(script + archive)
    subprocess.run(["zip", "-q", "-A", "setup.sh"], cwd=in_git_dir, check=True)
    (in_git_dir / "setup.exe").write_bytes(b"MZ" + bytes(4094) + archive)
    (in_git_dir / "run.sh").write_bytes(script + b"PK\x05\x06 is just text here\n")
    code, found, stderr = report("scan", cwd=in_git_dir)
    expected = {
        (f"{name}!config/.env", 2, tokens.preview(tok)) for name in ("setup.sh", "setup.exe")
    }
    assert (code, found, stderr) == (1, expected, "")
