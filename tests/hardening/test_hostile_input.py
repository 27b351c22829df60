"""Hostile input against the real server (gunicorn, 2 workers x 2 threads), generated here.

Every case gets a 4xx JSON error with a code, or a correct 200 where the input is a real
image; never a 5xx, never a hang (socket timeouts), and /healthz answers after each case;
the gunicorn log has no Traceback. docs/hardening.md lists what each case proves.
"""
from __future__ import annotations

import base64
import json
import random
import socket
import struct
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

from testkit.drawings import data_url, encode, png_claiming_size, stroke_mask, styled, webp_claiming_size
from tests.support.openapi_check import assert_matches_openapi
from tests.support.raw_http import (
    HANG,
    READ_TIMEOUT,
    assert_alive,
    assert_json_error,
    parse_responses,
    read_until_closed,
    send_raw,
)

ONE = styled(stroke_mask("one", 280, width=20), "dark_on_light")  # dark ink on white, mode L
PNG = encode(ONE, "PNG")
RNG = random.Random(6)


def png_chunks(data: bytes):
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield pos, length, kind
        pos += 12 + length


def with_bad_crc(data: bytes, kind: bytes) -> bytes:
    out = bytearray(data)
    for pos, length, chunk in png_chunks(data):
        if chunk == kind:
            out[pos + 8 + length] ^= 0xFF
            return bytes(out)
    raise ValueError(kind)


def zlib_bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A real bomb: 1-bit pixels, all zero, 50 MB of scanlines deflated to ~50 KB."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row * 1000) for _ in range(height // 1000)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def palette_with_transparency() -> bytes:
    """Mode P: index 0 fully transparent background, index 1 black ink (a web-export GIF/PNG style)."""
    mask = stroke_mask("one", 280, width=20)
    image = Image.fromarray(np.where(mask > 127, 1, 0).astype(np.uint8), "P")
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    return encode(image, "PNG", transparency=0)


def sixteen_bit() -> bytes:
    image = Image.fromarray(((255 - stroke_mask("one", 280, width=20).astype(np.uint16)) * 257).astype("<u2"))
    assert image.mode == "I;16"
    return encode(image, "PNG")


def cmyk_jpeg() -> bytes:
    ink = stroke_mask("one", 280, width=20)
    cmyk = np.zeros(ink.shape + (4,), np.uint8)
    cmyk[..., 3] = ink  # black (K) ink on white paper
    return encode(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=95)


def la_png() -> bytes:
    ink = stroke_mask("one", 280, width=20)
    return encode(Image.fromarray(np.dstack([np.zeros_like(ink), ink]), "LA"), "PNG")


def aspect(width: int, height: int) -> bytes:
    """A long stroke filling the middle of a 1-pixel-wide (or -high) image."""
    a = np.full((height, width), 255, np.uint8)
    if height > width:
        a[height // 5: 4 * height // 5, :] = 0
    else:
        a[:, width // 5: 4 * width // 5] = 0
    return encode(Image.fromarray(a, "L"), "PNG")


def animated_gif() -> bytes:
    zero = styled(stroke_mask("zero", 280, width=20), "dark_on_light")
    return encode(ONE, "GIF", save_all=True, append_images=[zero, zero], duration=40, loop=0)


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">' \
      b'<line x1="14" y1="2" x2="14" y2="26" stroke="black" stroke-width="3"/></svg>'
HTML = b"<!doctype html><html><body><script>alert(1)</script><img src=x onerror=alert(1)></body></html>"

# (id, body, Content-Type, expected status, expected code or, for a 200, the digit or None)
RAW_CASES = [
    ("empty_png_body", b"", "image/png", 400, "undecodable_image"),
    ("empty_body_no_type", b"", None, 415, "unsupported_media_type"),
    ("zero_bytes_json", b"", "application/json", 400, "malformed_json"),
    ("random_bytes_1k", RNG.randbytes(1024), "image/png", 400, "undecodable_image"),
    ("random_bytes_200k", RNG.randbytes(200_000), "image/jpeg", 400, "undecodable_image"),
    ("random_bytes_png_magic", b"\x89PNG\r\n\x1a\n" + RNG.randbytes(4000), "image/png", 400, "undecodable_image"),
    ("truncated_png_half", PNG[: len(PNG) // 2], "image/png", 400, "undecodable_image"),
    ("truncated_png_header", PNG[:30], "image/png", 400, "undecodable_image"),
    ("bad_crc_ihdr", with_bad_crc(PNG, b"IHDR"), "image/png", 400, "undecodable_image"),
    # Pillow does not check an IDAT CRC; the pixels are still protected by zlib's Adler-32.
    ("bad_crc_idat", with_bad_crc(PNG, b"IDAT"), "image/png", 200, 1),
    ("bomb_header_30000x30000", png_claiming_size(30000, 30000), "image/png", 413, "too_many_pixels"),
    ("bomb_zlib_20000x20000", zlib_bomb_png(), "image/png", 413, "too_many_pixels"),
    ("bomb_webp_16384x16384", webp_claiming_size(16384, 16384), "image/webp", 413, "too_many_pixels"),
    ("bomb_gif_65535x65535",
     b"GIF89a\xff\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "image/gif",
     413, "too_many_pixels"),
    ("one_by_one_black", encode(Image.new("L", (1, 1), 0), "PNG"), "image/png", 422, "empty_image"),
    ("one_by_one_white", encode(Image.new("L", (1, 1), 255), "PNG"), "image/png", 422, "empty_image"),
    ("aspect_1x5000", aspect(1, 5000), "image/png", 200, None),
    ("aspect_5000x1", aspect(5000, 1), "image/png", 200, None),
    ("sixteen_bit_greyscale", sixteen_bit(), "image/png", 200, 1),
    ("palette_with_transparency", palette_with_transparency(), "image/png", 200, 1),
    ("cmyk_jpeg", cmyk_jpeg(), "image/jpeg", 200, 1),
    ("la_png", la_png(), "image/png", 200, 1),
    ("all_transparent", encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)), "PNG"), "image/png", 422, "empty_image"),
    ("all_white", encode(Image.new("RGB", (280, 280), (255, 255, 255)), "PNG"), "image/png", 422, "empty_image"),
    ("all_black", encode(Image.new("RGB", (280, 280), (0, 0, 0)), "PNG"), "image/png", 422, "empty_image"),
    ("animated_gif_first_frame", animated_gif(), "image/gif", 200, 1),
    ("tiff", encode(ONE, "TIFF"), "image/tiff", 415, "unsupported_media_type"),
    ("tiff_as_png", encode(ONE, "TIFF"), "image/png", 415, "unsupported_media_type"),
    ("ico_as_png", encode(ONE.resize((64, 64)), "ICO"), "image/png", 415, "unsupported_media_type"),
    ("svg", SVG, "image/svg+xml", 415, "unsupported_media_type"),
    ("svg_as_png", SVG, "image/png", 415, "unsupported_media_type"),
    ("html_as_png", HTML, "image/png", 400, "undecodable_image"),
    ("html_as_html", HTML, "text/html", 415, "unsupported_media_type"),
]


def check_answer(server, path: str, response, status: int, expected) -> None:
    assert response.status == status, (response.status, response.body[:300])
    body = json.loads(response.body)
    assert_matches_openapi(path, "post", status, body)
    if status == 200:
        if path == "/predict" and expected is not None:
            assert body["digit"] == expected, body["probabilities"]
    else:
        assert assert_json_error(response) == expected
    assert_alive(server)


@pytest.mark.parametrize("name,body,media_type,status,expected", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_raw_body(hostile_server, name, body, media_type, status, expected) -> None:
    headers = {"Content-Type": media_type} if media_type else {}
    response = hostile_server.request("POST", "/predict", body, headers, timeout=HANG)
    check_answer(hostile_server, "/predict", response, status, expected)


JSON_CASES = [
    ("bad_base64", {"image": "data:image/png;base64,@@@@not-base64@@@@"}, 400, "undecodable_image"),
    ("base64_of_html", {"image": base64.b64encode(HTML).decode()}, 400, "undecodable_image"),
    ("data_url_text_html", {"image": data_url(PNG, "text/html")}, 415, "unsupported_media_type"),
    ("data_url_svg", {"image": data_url(SVG, "image/svg+xml")}, 415, "unsupported_media_type"),
    ("data_url_not_base64", {"image": "data:image/png," + PNG.hex()}, 400, "undecodable_image"),
    ("image_number", {"image": 42}, 400, "malformed_request"),
    ("image_list", {"image": [data_url(PNG)]}, 400, "malformed_request"),
    ("image_object", {"image": {"data": data_url(PNG)}}, 400, "malformed_request"),
    ("image_null", {"image": None}, 400, "malformed_request"),
    ("body_is_list", [data_url(PNG)], 400, "missing_image"),
    ("body_is_string", data_url(PNG), 400, "missing_image"),
    ("wrong_key", {"picture": data_url(PNG)}, 400, "missing_image"),
    ("bomb_in_data_url", {"image": data_url(png_claiming_size(30000, 30000))}, 413, "too_many_pixels"),
    ("valid_data_url", {"image": data_url(PNG)}, 200, 1),
]


@pytest.mark.parametrize("name,payload,status,expected", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_body(hostile_server, name, payload, status, expected) -> None:
    body = json.dumps(payload).encode()
    response = hostile_server.request("POST", "/predict", body, {"Content-Type": "application/json"}, timeout=HANG)
    check_answer(hostile_server, "/predict", response, status, expected)


@pytest.mark.parametrize("depth", [50, 100_000, 2_000_000])
def test_deeply_nested_json(hostile_server, depth: int) -> None:
    body = b'{"image": ' + b"[" * depth + b"]" * depth + b"}"
    response = hostile_server.request("POST", "/predict", body, {"Content-Type": "application/json"}, timeout=HANG)
    assert_json_error(response, 400, 413)
    assert_alive(hostile_server)


def test_a_20_mb_json_string_is_413(hostile_server) -> None:
    """Over the 5 MB body limit: refused from Content-Length, answered while the client still sends."""
    body = b'{"image": "' + b"A" * (20 * 1024 * 1024) + b'"}'
    head = (f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((hostile_server.host, hostile_server.port), timeout=HANG) as sock:
        sender = threading.Thread(target=send_ignoring_reset, args=(sock, head + body), daemon=True)
        sender.start()
        raw = read_until_closed(sock)
        sender.join(HANG)
    [response, *_] = parse_responses(raw)
    assert assert_json_error(response, 413) == "too_large"
    assert_alive(hostile_server)


def send_ignoring_reset(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:  # the server answered and closed before reading it all: expected
        pass


def multipart_body(parts: list[tuple[str, str | None, bytes]], boundary: str = "hostile-boundary") -> tuple[bytes, str]:
    out = b""
    for field, filename, data in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: image/png\r\n\r\n".encode()
        out += data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


MULTIPART_CASES = [
    ("wrong_field", [("picture", "one.png", PNG)], 400, "missing_image"),
    ("no_parts", [], 400, "missing_image"),
    ("two_files_first_counts", [("image", "one.png", PNG), ("image", "junk.png", b"junk")], 200, 1),
    ("path_like_filename", [("image", "../../../../etc/passwd", PNG)], 200, 1),
    ("absolute_windows_filename", [("image", "C:\\Windows\\system32\\cmd.exe", PNG)], 200, 1),
    ("empty_file", [("image", "empty.png", b"")], 400, "undecodable_image"),
    ("text_field_not_a_data_url", [("image", None, b"hello")], 400, "undecodable_image"),
    ("tiff_file", [("image", "x.tiff", encode(ONE, "TIFF"))], 415, "unsupported_media_type"),
]


@pytest.mark.parametrize("name,parts,status,expected", MULTIPART_CASES, ids=[c[0] for c in MULTIPART_CASES])
def test_multipart(hostile_server, name, parts, status, expected) -> None:
    body, content_type = multipart_body(parts)
    response = hostile_server.request("POST", "/predict", body, {"Content-Type": content_type}, timeout=HANG)
    check_answer(hostile_server, "/predict", response, status, expected)


def test_broken_multipart_framing(hostile_server) -> None:
    for body, content_type in [
        (b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a\"\r\n\r\n" + PNG, "multipart/form-data; boundary=x"),
        (PNG, "multipart/form-data"),  # no boundary
        (b"\r\n" * 1000, "multipart/form-data; boundary=" + "b" * 300),
    ]:
        response = hostile_server.request("POST", "/predict", body, {"Content-Type": content_type}, timeout=HANG)
        assert_json_error(response, 400)
        assert_alive(hostile_server)


# --- lying Content-Length, malformed HTTP: raw sockets ------------------------------------

def request_head(length: int | str, media_type: str = "image/png", path: str = "/predict") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {media_type}\r\nContent-Length: {length}\r\n\r\n".encode()


def test_content_length_longer_than_the_body_then_eof(hostile_server) -> None:
    """The app gets the bytes that arrived: a cut image is refused, a whole one is classified."""
    half = PNG[: len(PNG) // 2]
    [response] = parse_responses(send_raw(hostile_server, request_head(len(PNG) + 5000) + half))
    assert assert_json_error(response, 400) == "undecodable_image"
    [response] = parse_responses(send_raw(hostile_server, request_head(len(PNG) + 5000) + PNG))
    assert response.status == 200 and json.loads(response.body)["digit"] == 1
    assert_alive(hostile_server)


def test_content_length_longer_than_the_body_then_silence(hostile_server) -> None:
    """The client keeps the connection open and sends nothing more: cut at the read deadline."""
    [response] = parse_responses(send_raw(hostile_server, request_head(len(PNG) + 5000) + PNG, close_write=False,
                                          timeout=READ_TIMEOUT + HANG))
    assert assert_json_error(response, 408) == "request_timeout"
    assert_alive(hostile_server)


def test_content_length_shorter_than_the_body(hostile_server) -> None:
    """The server reads what was announced (a truncated PNG); the rest is not a valid next request."""
    responses = parse_responses(send_raw(hostile_server, request_head(100) + PNG))
    assert assert_json_error(responses[0], 400) == "undecodable_image"
    for extra in responses[1:]:
        assert_json_error(extra, 400)
    assert_alive(hostile_server)


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "99999999999999999999999", "5, 5"])
def test_invalid_content_length(hostile_server, length: str) -> None:
    responses = parse_responses(send_raw(hostile_server, request_head(length) + PNG))
    assert responses, "no answer"
    assert_json_error(responses[0], 400, 413)
    assert_alive(hostile_server)


def test_conflicting_content_lengths(hostile_server) -> None:
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n"
    [response] = parse_responses(send_raw(hostile_server, head + PNG))
    assert_json_error(response, 400)
    assert_alive(hostile_server)


def test_content_length_over_the_limit_is_refused_before_reading(hostile_server) -> None:
    [response] = parse_responses(send_raw(hostile_server, request_head(50 * 1024 * 1024) + PNG))
    assert assert_json_error(response, 413) == "too_large"
    assert_alive(hostile_server)


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40),  # a TLS ClientHello on the plain port
    b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
    b"GET /healthz HTTP/1.1\r\nX-Big: " + b"v" * 20000 + b"\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n",
], ids=["garbage", "tls_hello", "long_request_line", "many_headers", "huge_header", "bad_chunk"])
def test_malformed_http_gets_a_json_4xx(hostile_server, raw: bytes) -> None:
    raw_answer = send_raw(hostile_server, raw)
    if raw_answer:  # a TLS hello may just be closed on
        assert_json_error(parse_responses(raw_answer)[0])
    assert_alive(hostile_server)


def test_chunked_body_is_accepted(hostile_server) -> None:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(PNG[i:i + 500]), PNG[i:i + 500]) for i in range(0, len(PNG), 500))
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    [response] = parse_responses(send_raw(hostile_server, head + chunks + b"0\r\n\r\n"))
    assert response.status == 200 and json.loads(response.body)["digit"] == 1


# --- /feedback: the same kinds of input ----------------------------------------------------

def feedback(image, **changes):
    return {"image": image, "label": 1, "predicted": 1, "confidence": 0.9, "model": "hostile-test", **changes}


FEEDBACK_CASES = [
    ("ok", feedback(data_url(PNG)), 201, None),
    ("bad_base64", feedback("data:image/png;base64,@@@"), 400, "undecodable_image"),
    ("html_data_url", feedback(data_url(HTML, "text/html")), 415, "unsupported_media_type"),
    ("bomb", feedback(data_url(png_claiming_size(30000, 30000))), 413, "too_many_pixels"),
    ("all_transparent", feedback(data_url(encode(Image.new("RGBA", (280, 280)), "PNG"))), 422, "empty_image"),
    ("label_string", feedback(data_url(PNG), label="1"), 400, "invalid_label"),
    ("label_bool", feedback(data_url(PNG), label=True), 400, "invalid_label"),
    ("label_ten", feedback(data_url(PNG), label=10), 400, "invalid_label"),
    ("confidence_huge", feedback(data_url(PNG), confidence=1e308), 400, "invalid_confidence"),
    ("model_too_long", feedback(data_url(PNG), model="m" * 10_000), 400, "invalid_model"),
    ("image_list", feedback([data_url(PNG)]), 400, "malformed_request"),
    ("body_is_list", [feedback(data_url(PNG))], 400, "malformed_request"),
]


@pytest.mark.parametrize("name,payload,status,expected", FEEDBACK_CASES, ids=[c[0] for c in FEEDBACK_CASES])
def test_feedback(hostile_server, name, payload, status, expected) -> None:
    body = json.dumps(payload).encode()
    response = hostile_server.request("POST", "/feedback", body, {"Content-Type": "application/json"}, timeout=HANG)
    assert response.status == status, response.body[:300]
    assert_matches_openapi("/feedback", "post", status, json.loads(response.body))
    if status != 201:
        assert assert_json_error(response) == expected
    assert_alive(hostile_server)


def test_feedback_deep_nesting_and_huge_body(hostile_server) -> None:
    nested = b'{"image": "x", "label": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = hostile_server.request("POST", "/feedback", nested, {"Content-Type": "application/json"}, timeout=HANG)
    assert_json_error(response, 400)
    [response, *_] = parse_responses(send_raw(hostile_server, request_head(20 * 1024 * 1024, "application/json",
                                                                           "/feedback") + b"{}"))
    assert assert_json_error(response, 413) == "too_large"
    assert_alive(hostile_server)
