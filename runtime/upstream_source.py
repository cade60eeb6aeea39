"""Where upstream CosyVoice's source comes from: a checkout named by $COSYVOICE_SRC, else the vendored tarball, else
the two pinned commits fetched from their public repositories (what the image build does).

Each must be the commit runtime/upstream.toml pins: a git checkout is asked for its HEAD, the tarball is checked
against its SHA-256, a fetch checks out exactly the pinned commit ids. Whatever the origin, the installed tree is then
checked against `tree_sha256` (every file's content), so the tests, which read the vendored tarball, and the image,
which fetches from GitHub, are known to hold the same upstream code.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PIN_FILE = HERE / "upstream.toml"


class UpstreamSourceError(Exception):
    """No usable upstream source (missing, wrong commit, bad checksum)."""


def tree_sha256(root: Path) -> str:
    """A digest of a source tree's content, independent of how it arrived (archive, checkout, fetch).

    Sorted relative POSIX paths with each regular file's SHA-256 and each relative symlink's target; `.git` and
    symlinks to absolute paths are left out (the tarball's safe extraction drops the latter: Matcha-TTS's `data`
    points at its author's disk)."""
    lines = []
    for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        rel = path.relative_to(root)
        if ".git" in rel.parts:
            continue
        if path.is_symlink():
            target = str(path.readlink())
            if not target.startswith("/"):
                lines.append(f"{rel.as_posix()} -> {target}")
        elif path.is_file():
            lines.append(f"{rel.as_posix()} {_sha256(path)}")
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def verify_tree(root: Path) -> None:
    """Refuse a tree whose content is not the pinned commits' (runtime/upstream.toml `tree_sha256`)."""
    expected = pins()["cosyvoice"]["tree_sha256"]
    actual = tree_sha256(root)
    if actual != expected:
        raise UpstreamSourceError(
            f"{root}: upstream source tree has digest {actual[:16]}…, expected {expected[:16]}… (runtime/upstream.toml "
            "tree_sha256): not the pinned commits, or modified"
        )


def pins() -> dict[str, Any]:
    return tomllib.loads(PIN_FILE.read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_checkout(root: Path, commit: str) -> None:
    if not (root / "cosyvoice" / "cli" / "cosyvoice.py").is_file():
        raise UpstreamSourceError(f"COSYVOICE_SRC={root} is not a CosyVoice checkout (no cosyvoice/cli/cosyvoice.py)")
    if not (root / "third_party" / "Matcha-TTS" / "matcha").is_dir():
        raise UpstreamSourceError(f"{root}/third_party/Matcha-TTS is empty: run `git submodule update --init`")
    if (root / ".git").exists():
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if head and head != commit:
            raise UpstreamSourceError(f"COSYVOICE_SRC={root} is at {head[:12]}, not the pinned {commit[:12]}")


def _skip_absolute_links(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """tarfile's safe "data" filter, skipping symlinks to absolute paths (Matcha-TTS's `data` points at its author's
    disk, and nothing at inference reads it)."""
    if member.issym() and member.linkname.startswith("/"):
        return None
    return tarfile.data_filter(member, path)


def _extract(archive: tarfile.TarFile, dest: Path) -> None:
    """Extract with the safe "data" filter; on Pythons before 3.11.4 (no extraction filters, e.g. Debian 12's
    3.11.2, the sandbox interpreter of the boot rehearsal) the same rules by hand: regular files, directories and
    relative links inside `dest` only."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(dest, filter=_skip_absolute_links)
        return
    root = dest.resolve()
    members = []
    for member in archive.getmembers():
        if member.issym() and member.linkname.startswith("/"):
            continue
        target = (root / member.name).resolve()
        linked = (target.parent / member.linkname).resolve() if member.issym() else target
        if not (member.isfile() or member.isdir() or member.issym()) or root not in (*target.parents, target):
            raise UpstreamSourceError(f"unsafe member in upstream tarball: {member.name!r}")
        if root not in (*linked.parents, linked):
            raise UpstreamSourceError(f"link leaving the tree in upstream tarball: {member.name!r}")
        member.mode &= 0o755
        members.append(member)
    archive.extractall(dest, members=members)


def _fetch(repository: str, commit: str, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for args in (["init", "-q"], ["fetch", "-q", "--depth", "1", repository, commit], ["checkout", "-q", "FETCH_HEAD"]):
        done = subprocess.run(["git", "-C", str(dest), *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or [f"git exit {done.returncode}"])[-1]
            raise UpstreamSourceError(
                f"no upstream source: no vendored tarball, and fetching {repository}@{commit[:12]} failed ({why}); "
                "set COSYVOICE_SRC to a checkout at that commit"
            )


def _from_github(dest: Path) -> Path:
    """Both pinned commits from their public repositories (a machine with a route to GitHub)."""
    pinned = pins()
    _fetch(pinned["cosyvoice"]["repository"], pinned["cosyvoice"]["commit"], dest)
    matcha = dest / "third_party" / "Matcha-TTS"
    if matcha.exists():
        shutil.rmtree(matcha)
    _fetch(pinned["matcha"]["repository"], pinned["matcha"]["commit"], matcha)
    for root, commit in ((dest, pinned["cosyvoice"]["commit"]), (matcha, pinned["matcha"]["commit"])):
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        )
        if head.stdout.strip() != commit:
            raise UpstreamSourceError(f"{root} checked out {head.stdout.strip()[:12]!r}, not the pinned {commit[:12]}")
    return dest


def _vendored() -> Path:
    relative: str = pins()["vendored"]["path"]
    return (HERE.parent / relative).resolve()


def verify_tarball(path: Path) -> None:
    expected = pins()["vendored"]["sha256"]
    actual = _sha256(path)
    if actual != expected:
        raise UpstreamSourceError(f"{path} has SHA-256 {actual}, expected {expected} (runtime/upstream.toml)")


@contextmanager
def upstream_source(checkout: str | None = None) -> Iterator[Path]:
    """The upstream source root for the duration of the block (a temporary unpack of the tarball)."""
    if checkout:
        root = Path(checkout).resolve()
        _check_checkout(root, pins()["cosyvoice"]["commit"])
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="cosyvoice-src-") as tmp:
        yield install_source(Path(tmp) / "CosyVoice")


def install_source(dest: Path, checkout: str | None = None) -> Path:
    """Copy (checkout), unpack (tarball) or fetch (GitHub) upstream's source into `dest`, content-checked; returns
    `dest`."""
    _place_source(dest, checkout)
    verify_tree(dest)
    return dest


def _place_source(dest: Path, checkout: str | None) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    if checkout:
        root = Path(checkout).resolve()
        _check_checkout(root, pins()["cosyvoice"]["commit"])
        shutil.copytree(root, dest, ignore=shutil.ignore_patterns(".git", "pretrained_models"), symlinks=True)
        return dest
    tarball = _vendored()
    if not tarball.is_file():
        return _from_github(dest)
    verify_tarball(tarball)
    top = pins()["vendored"]["top"]
    with (
        tempfile.TemporaryDirectory(dir=dest.parent if dest.parent.exists() else None) as tmp,
        tarfile.open(tarball) as archive,
    ):
        _extract(archive, Path(tmp))
        shutil.move(str(Path(tmp) / top), dest)
    return dest
