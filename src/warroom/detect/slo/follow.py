"""Follow a growing log like `tail -F`: whole new lines, across rotation and truncation.

    f = Follower("/var/log/nginx/access.log")        # or Follower.from_state(path, saved)
    data, first_line = f.read()                       # complete new lines (b"" when none)
    saved = f.to_state()                              # device, inode, offset, line number

Rotation (the path now names another file): the rest of the old file is read first, then
the new one from its start. Truncation (the file is shorter than the offset): from the
start again. A restart with a saved state resumes at the saved offset in the saved file,
found by device and inode at the path or renamed beside it (`access.log.1`), then goes on
with the path's file from its start. A partial last line waits for its newline.
"""

from __future__ import annotations

import os
from typing import IO, Any

MAX_READ = 8 << 20  # bytes per read: memory stays bounded on a large backlog


class Follower:
    def __init__(self, path: str) -> None:
        self.path = path
        self.dev: int | None = None
        self.ino: int | None = None
        self.offset = 0  # of the first byte not yet returned (start of a line)
        self.line = 1  # number of the line at `offset`
        self._fh: IO[bytes] | None = None

    @classmethod
    def from_state(cls, path: str, state: dict[str, Any] | None) -> Follower:
        f = cls(path)
        if state:
            f.dev, f.ino = state.get("dev"), state.get("ino")
            f.offset, f.line = int(state.get("offset", 0)), int(state.get("line", 1))
        return f

    def to_state(self) -> dict[str, Any]:
        return {"dev": self.dev, "ino": self.ino, "offset": self.offset, "line": self.line}

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _open_saved(self) -> bool:
        """After a restart: reopen the saved file where it was left, also when it was rotated
        meanwhile (renamed in the same folder, like access.log.1); else the path's file."""
        if self.ino is not None:
            folder = os.path.dirname(self.path) or "."
            name = os.path.basename(self.path)
            try:
                names = os.listdir(folder)
            except OSError:
                names = []
            candidates = [self.path] + sorted(
                os.path.join(folder, n) for n in names if n.startswith(name + ".")
            )
            for candidate in candidates:
                try:
                    st = os.stat(candidate)
                except FileNotFoundError:
                    continue
                if (st.st_dev, st.st_ino) == (self.dev, self.ino) and st.st_size >= self.offset:
                    self._fh = open(candidate, "rb")  # noqa: SIM115 - closed by close()
                    return True
        return self._open_current()

    def _open_current(self) -> bool:
        """Open the file the path names now; False when it does not exist (yet)."""
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - kept open across reads, like tail -F
        except FileNotFoundError:
            return False
        st = os.fstat(fh.fileno())
        if (st.st_dev, st.st_ino) != (self.dev, self.ino) or st.st_size < self.offset:
            self.offset, self.line = 0, 1  # another file than the saved one, or truncated
        self.dev, self.ino = st.st_dev, st.st_ino
        self._fh = fh
        return True

    def _take(self) -> bytes:
        """Whole lines from the open file at `offset` (up to MAX_READ bytes)."""
        assert self._fh is not None
        if os.fstat(self._fh.fileno()).st_size < self.offset:
            self.offset, self.line = 0, 1  # truncated in place (copytruncate)
        self._fh.seek(self.offset)
        data = self._fh.read(MAX_READ)
        end = data.rfind(b"\n")
        if end < 0:
            return b""
        data = data[: end + 1]
        self.offset += len(data)
        self.line += data.count(b"\n")
        return data

    def read(self) -> tuple[bytes, int]:
        """New complete lines and the number of the first of them."""
        first = self.line
        if self._fh is None and not self._open_saved():
            return b"", first
        data = self._take()
        if data:
            return data, first
        # nothing new here: has the path been rotated to a new file?
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return b"", first
        if (st.st_dev, st.st_ino) != (self.dev, self.ino):
            self.close()
            self.dev = self.ino = None
            if self._open_current():
                data = self._take()
                return data, 1
        return b"", first
