"""`file://` URIs for local paths, and reading the bytes a URI names.

The registry holds absolute URIs without whitespace or control characters,
so paths are percent-encoded (`/srv/my states/x.pt` becomes
`file:///srv/my%20states/x.pt`), byte by byte from the file system encoding.
"""

import os
import pathlib
import urllib.parse
import urllib.request

__all__ = ["file_uri_to_path", "path_to_file_uri", "read_uri",
           "READABLE_SCHEMES"]

# The schemes read_uri() reads.
READABLE_SCHEMES = ("file", "http", "https")


def path_to_file_uri(path) -> str:
    """The `file://` URI of `path`, made absolute, percent-encoded."""
    return pathlib.Path(os.path.abspath(os.fspath(path))).as_uri()


def file_uri_to_path(uri: str) -> str:
    """The local path of a `file:` URI (`file:///a%20b/x.pt` or
    `file:/a/x.pt`; host empty or `localhost`).

    Raises ValueError for another scheme, a remote host or a relative path.
    """
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme.lower() != "file":
        raise ValueError(f"not a file URI: {uri!r}")
    if parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"file URI {uri!r} names the host {parts.netloc!r}; only local "
            f"files (no host, or localhost) can be read")
    path = os.fsdecode(urllib.parse.unquote_to_bytes(parts.path))
    if not os.path.isabs(path):
        raise ValueError(f"file URI {uri!r} holds no absolute path")
    return path


def read_uri(uri: str, timeout: float = 60.0) -> bytes:
    """The bytes at `uri`: a local file for `file:`, a GET for `http:` and
    `https:` (with `timeout` seconds for the connection and each read).

    Raises NotImplementedError, naming the scheme, for any other scheme
    (`s3:` for instance); OSError (urllib.error.URLError included) when the
    bytes cannot be read; ValueError for a malformed file URI.
    """
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme == "file":
        with open(file_uri_to_path(uri), "rb") as stream:
            return stream.read()
    if scheme in ("http", "https"):
        with urllib.request.urlopen(uri, timeout=timeout) as response:
            return response.read()
    raise NotImplementedError(
        f"cannot read {uri!r}: the {scheme!r} scheme is not supported "
        f"(supported: {', '.join(READABLE_SCHEMES)})")
