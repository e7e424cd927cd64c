#!/usr/bin/env bash
# Tests of images/mkinitramfs. Usage: mkinitramfs-test.sh CASE
# Environment: MKINITRAMFS (the script), TEST_INIT (a static binary to pack),
# NEWC_LIST (tests/images/newc-list.py).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

: "${MKINITRAMFS:?}" "${TEST_INIT:?}" "${NEWC_LIST:?}"
[[ -f "$TEST_INIT" ]] || fail "$TEST_INIT is not built (cmake --build build --target test-init)"
make_scratch mkinitramfs

# Inputs shared by the cases: the init, a data file, and a script.
echo "hello" >"$scratch/data.txt"
chmod 0640 "$scratch/data.txt"
printf '#!/bin/sh\necho hi\n' >"$scratch/tool.sh"
chmod 0700 "$scratch/tool.sh"
inputs=(--init "$TEST_INIT" "$scratch/data.txt:/etc/hull/data.txt"
  "$scratch/tool.sh:/usr/bin/tool" "$scratch/data.txt:/secret:0600")

case_SameInputsGiveIdenticalArchives() {
  "$MKINITRAMFS" -o "$scratch/a.cpio.gz" "${inputs[@]}"
  # A different mtime and order of inputs, and a later time of day, must not
  # show in the archive.
  touch -d '2001-02-03' "$scratch/data.txt"
  sleep 1
  "$MKINITRAMFS" -o "$scratch/b.cpio.gz" "${inputs[@]:2}" "${inputs[@]:0:2}"
  cmp "$scratch/a.cpio.gz" "$scratch/b.cpio.gz" || fail "two builds of the same inputs differ"
  # ... but the contents must: a changed input gives a different archive.
  echo "changed" >"$scratch/data.txt"
  "$MKINITRAMFS" -o "$scratch/c.cpio.gz" "${inputs[@]}"
  ! cmp -s "$scratch/a.cpio.gz" "$scratch/c.cpio.gz" || fail "a changed input did not change the archive"
}

case_ListsExactlyTheGivenPathsWithModesOwnersAndTimes() {
  SOURCE_DATE_EPOCH=1234567890 "$MKINITRAMFS" -o "$scratch/a.cpio.gz" "${inputs[@]}" 2>"$scratch/log"
  grep -qF "$scratch/a.cpio.gz" "$scratch/log" || fail "the output path was not reported: $(cat "$scratch/log")"
  gzip -dc "$scratch/a.cpio.gz" | "$NEWC_LIST" >"$scratch/listing"
  # Directories 0755, files at their given or derived mode, all 0:0.
  cat >"$scratch/expected" <<'LIST'
etc 40755 0 0 1234567890
etc/hull 40755 0 0 1234567890
etc/hull/data.txt 100644 0 0 1234567890
init 100755 0 0 1234567890
secret 100600 0 0 1234567890
usr 40755 0 0 1234567890
usr/bin 40755 0 0 1234567890
usr/bin/tool 100755 0 0 1234567890
LIST
  diff -u "$scratch/expected" "$scratch/listing" || fail "unexpected archive listing"
  # The packed init is the very file given.
  (cd "$scratch" && gzip -dc a.cpio.gz | cpio --quiet -i --to-stdout init) | cmp - "$TEST_INIT" ||
    fail "/init in the archive differs from $TEST_INIT"
  # And GNU cpio agrees with our reader on the names.
  gzip -dc "$scratch/a.cpio.gz" | cpio --quiet -t | diff - <(cut -d ' ' -f 1 "$scratch/expected") ||
    fail "cpio -t lists other names"
}

case_FailsNamingAMissingInput() {
  expect_failure "$scratch/no-such-file" \
    "$MKINITRAMFS" -o "$scratch/a.cpio.gz" --init "$TEST_INIT" "$scratch/no-such-file:/bin/x"
  [[ ! -e "$scratch/a.cpio.gz" ]] || fail "a failed run left an output behind"
  expect_failure "$scratch/missing-init" "$MKINITRAMFS" -o "$scratch/a.cpio.gz" --init "$scratch/missing-init"
}

case_RejectsBadArguments() {
  expect_failure "must be an absolute path" "$MKINITRAMFS" -o "$scratch/a" "$scratch/data.txt:etc/x"
  expect_failure "given twice" "$MKINITRAMFS" -o "$scratch/a" "$scratch/data.txt:/x" "$scratch/data.txt:/x"
  expect_failure "not octal" "$MKINITRAMFS" -o "$scratch/a" "$scratch/data.txt:/x:rwx"
  expect_failure "unknown compression 'xz'" "$MKINITRAMFS" -o "$scratch/a" --compress xz --init "$TEST_INIT"
  expect_failure "-o OUT" "$MKINITRAMFS" --init "$TEST_INIT"
  expect_failure "does not name a file" "$MKINITRAMFS" -o "$scratch/a" "$scratch/data.txt:/"
}

case_Lz4OutputIsLegacyFormatAndDecompresses() {
  "$MKINITRAMFS" -o "$scratch/a.cpio.lz4" --compress lz4 "${inputs[@]}"
  # The kernel's initramfs unpacker reads only the legacy frame (magic
  # 0x184C2102, little-endian), not the current one (0x184D2204).
  [[ "$(od -An -tx1 -N4 "$scratch/a.cpio.lz4" | tr -d ' ')" == "02214c18" ]] ||
    fail "the lz4 output does not start with the legacy magic"
  lz4 -dc "$scratch/a.cpio.lz4" | "$NEWC_LIST" >"$scratch/listing"
  grep -q '^init 100755 ' "$scratch/listing" || fail "no /init after lz4 -d"
  "$MKINITRAMFS" -o "$scratch/b.cpio.lz4" --compress lz4 "${inputs[@]}"
  cmp "$scratch/a.cpio.lz4" "$scratch/b.cpio.lz4" || fail "lz4 output is not reproducible"
}

case_ZstdOutputDecompresses() {
  "$MKINITRAMFS" -o "$scratch/a.cpio.zst" --compress zstd "${inputs[@]}"
  zstd -dc "$scratch/a.cpio.zst" | "$NEWC_LIST" >"$scratch/listing"
  grep -q '^init 100755 ' "$scratch/listing" || fail "no /init after zstd -d"
  "$MKINITRAMFS" -o "$scratch/b.cpio.zst" --compress zstd "${inputs[@]}"
  cmp "$scratch/a.cpio.zst" "$scratch/b.cpio.zst" || fail "zstd output is not reproducible"
}

case_UncompressedOutputIsPlainNewc() {
  "$MKINITRAMFS" -o "$scratch/a.cpio" --compress none "${inputs[@]}"
  [[ "$(head -c 6 "$scratch/a.cpio")" == "070701" ]] || fail "not a newc archive"
  "$NEWC_LIST" <"$scratch/a.cpio" >"$scratch/listing"
  grep -q '^init 100755 ' "$scratch/listing" || fail "no /init"
}

case_FailsNamingThePackageOfAMissingTool() {
  # A PATH with everything the script needs except the compressor under test.
  local bin="$scratch/bin" tool
  mkdir "$bin"
  for tool in bash env dirname cpio gzip; do
    ln -s "$(command -v "$tool")" "$bin/$tool"
  done
  expect_failure "lz4" env PATH="$bin" "$MKINITRAMFS" -o "$scratch/a" --compress lz4 --init "$TEST_INIT"
  grep -qF "Debian's lz4" "$scratch/stderr" || fail "the message does not name the lz4 package"
  expect_failure "Debian's zstd" env PATH="$bin" "$MKINITRAMFS" -o "$scratch/a" --compress zstd --init "$TEST_INIT"
  rm "$bin/cpio"
  expect_failure "Debian's cpio" env PATH="$bin" "$MKINITRAMFS" -o "$scratch/a" --init "$TEST_INIT"
}

run_case "$@"
