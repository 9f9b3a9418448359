"""Uploaded files (product images, purchase-invoice PDFs): content-addressed blobs on disk or in memory."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

from .offload import off_loop

SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff(data: bytes) -> str | None:
    """The media type the bytes really are (by signature), or None when unrecognised."""
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _is_file_id(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


class FileStore:
    """Blobs named by the SHA-256 of their content, so an identical upload is stored once."""

    def __init__(self, data_dir: str | os.PathLike | None):
        self.root = Path(data_dir) / "files" if data_dir is not None else None
        self._memory: dict[str, bytes] = {}
        self._lock = threading.Lock()
        if self.root is not None and self.root.is_dir():
            # Uploads a crash or a full disk cut short (only complete blobs are ever renamed to their id).
            for leftover in self.root.iterdir():
                if leftover.is_file() and not _is_file_id(leftover.name):
                    leftover.unlink(missing_ok=True)

    def put(self, data: bytes) -> str:
        """Store `data` (atomically on disk) and return its id."""
        off_loop("a file is written")
        file_id = hashlib.sha256(data).hexdigest()
        if self.root is None:
            with self._lock:
                self._memory[file_id] = data
            return file_id
        path = self.root / file_id
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".upload-", delete=False) as tmp:
                try:
                    tmp.write(data)
                    tmp.flush()
                    os.fsync(tmp.fileno())
                except OSError:
                    os.unlink(tmp.name)
                    raise
            os.replace(tmp.name, path)
        return file_id

    def get(self, file_id: str) -> bytes | None:
        """The blob, or None for an unknown (or malformed) id."""
        off_loop("a file is read")
        if not _is_file_id(file_id):
            return None
        if self.root is None:
            return self._memory.get(file_id)
        path = self.root / file_id
        return path.read_bytes() if path.exists() else None
