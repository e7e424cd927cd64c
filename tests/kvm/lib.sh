# Helpers for the shell tests under tests/kvm (source it). Each check prints
# "ok" or "FAIL" with the detail; finish() exits non-zero if any failed.
fails=0
check() { # check NAME ok|other DETAIL
  if [[ $2 == ok ]]; then
    echo "  ok   $1"
  else
    echo "  FAIL $1: $3"
    fails=$((fails + 1))
  fi
}
is() { [[ $1 == "$2" ]] && echo ok || echo no; }
# field KEY FILE: value of the first "HULL-TEST-INIT KEY=value" line.
field() { sed -n "s/^HULL-TEST-INIT $1=\\(.*\\)\$/\\1/p" "$2" | tr -d '\r' | head -n 1; }
finish() { # finish NAME
  if ((fails)); then
    echo "$1: $fails checks failed"
    exit 1
  fi
  echo "$1: all checks passed"
}
# fnv1a64 FILE OFFSET LENGTH: the checksum test-init prints, computed here.
fnv1a64() {
  python3 - "$@" <<'PY'
import sys
path, off, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "rb") as f:
    f.seek(off)
    data = f.read(n)
h = 0xcbf29ce484222325
for b in data:
    h ^= b
    h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
print("%016x" % h)
PY
}
# xorshift_fnv LENGTH: FNV-1a 64 of test-init's blk-write pattern.
xorshift_fnv() {
  python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
x = 0x12345678
h = 0xcbf29ce484222325
for _ in range(n):
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    h ^= x & 0xFF
    h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
print("%016x" % h)
PY
}
