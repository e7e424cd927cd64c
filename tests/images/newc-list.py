#!/usr/bin/env python3
"""Lists a newc cpio archive (uncompressed, on stdin) one entry per line:
"NAME MODE UID GID MTIME" with MODE in octal, so tests can compare listings
exactly without parsing `cpio -tv`'s locale-dependent output."""
import sys

MAGIC = b"070701"
HEADER_LEN = 110


def main():
    data = sys.stdin.buffer.read()
    pos = 0
    while True:
        header = data[pos:pos + HEADER_LEN]
        if len(header) < HEADER_LEN or header[:6] != MAGIC:
            sys.exit(f"newc-list: no newc header at offset {pos}")
        # Thirteen 8-digit hex fields follow the magic.
        fields = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        _ino, mode, uid, gid, _nlink, mtime, filesize = fields[:7]
        namesize = fields[11]
        name_start = pos + HEADER_LEN
        name = data[name_start:name_start + namesize - 1].decode()
        # Name and file data are each padded to a multiple of four bytes.
        pos = (name_start + namesize + 3) & ~3
        pos = (pos + filesize + 3) & ~3
        if name == "TRAILER!!!":
            return
        print(f"{name} {mode:o} {uid} {gid} {mtime}")


if __name__ == "__main__":
    main()
