#!/usr/bin/env bash
# Tests of images/mkbusybox-oci. Usage: mkbusybox-oci-test.sh CASE
# Environment: MKBUSYBOX_OCI (the script), CHECK_OCI (check-oci-layout.py).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

: "${MKBUSYBOX_OCI:?}" "${CHECK_OCI:?}"
make_scratch mkbusybox-oci
# One interpreter lookup rather than one per check (a pyenv shim is slow).
python="$(python3 -c 'import sys; print(sys.executable)')"
check_oci() { "$python" "$CHECK_OCI" "$@"; }

case_LayoutIsValidAndReproducible() {
  "$MKBUSYBOX_OCI" -o "$scratch/a" --tar "$scratch/a.tar" --rootfs "$scratch/a-rootfs" \
    --bundle "$scratch/a-bundle"
  local digest_a digest_b
  digest_a="$(check_oci "$scratch/a" --ref docker.io/library/busybox-hull:latest \
    --repo-tag busybox-hull:latest --bundle "$scratch/a-bundle" --rootfs "$scratch/a-rootfs")"

  "$MKBUSYBOX_OCI" -o "$scratch/b" --tar "$scratch/b.tar"
  digest_b="$(check_oci "$scratch/b")"
  [[ "$digest_a" == "$digest_b" ]] || fail "two builds gave manifests $digest_a and $digest_b"
  cmp "$scratch/a.tar" "$scratch/b.tar" || fail "two builds gave different tars"

  # The tar is the layout: what a loader unpacks passes the same checks.
  mkdir "$scratch/unpacked"
  tar -xf "$scratch/a.tar" -C "$scratch/unpacked"
  [[ "$(check_oci "$scratch/unpacked")" == "$digest_a" ]] || fail "the tar holds another image"
  tar -tf "$scratch/a.tar" >"$scratch/a.tar.list"
  grep -qx 'manifest.json' "$scratch/a.tar.list" || fail "no top-level manifest.json in the tar"

  # A changed SOURCE_DATE_EPOCH is a different image (times are part of it).
  SOURCE_DATE_EPOCH=86400 "$MKBUSYBOX_OCI" -o "$scratch/c"
  [[ "$(check_oci "$scratch/c")" != "$digest_a" ]] || fail "SOURCE_DATE_EPOCH had no effect"
}

case_RefIsNormalisedLikeDocker() {
  "$MKBUSYBOX_OCI" -o "$scratch/a" --ref hull/demo:1.0
  check_oci "$scratch/a" --ref docker.io/hull/demo:1.0 --repo-tag hull/demo:1.0 >/dev/null
  "$MKBUSYBOX_OCI" -o "$scratch/a" --ref localhost:5000/demo
  check_oci "$scratch/a" --ref localhost:5000/demo:latest --repo-tag localhost:5000/demo:latest >/dev/null
  expect_failure "not a valid image name" "$MKBUSYBOX_OCI" -o "$scratch/x" --ref Upper/Case:1
  expect_failure "digest references" "$MKBUSYBOX_OCI" -o "$scratch/x" --ref "demo@sha256:$(printf '0%.0s' {1..64})"
}

case_CheckerRejectsACorruptImage() {
  # The checker must be able to fail, or the other cases prove nothing.
  "$MKBUSYBOX_OCI" -o "$scratch/a"
  cp -a "$scratch/a" "$scratch/wrong-size"
  local manifest config
  manifest="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$scratch/a/index.json")"
  config="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"][7:])' "$scratch/a/blobs/sha256/$manifest")"
  echo >>"$scratch/wrong-size/blobs/sha256/$config"
  expect_failure "size" check_oci "$scratch/wrong-size"

  cp -a "$scratch/a" "$scratch/wrong-digest"
  # Same size, different bytes: flip the first '{' of the config to '['.
  sed -i '1s/^{/[/' "$scratch/wrong-digest/blobs/sha256/$config"
  expect_failure "hashes to" check_oci "$scratch/wrong-digest"

  cp -a "$scratch/a" "$scratch/stale-blob"
  echo stale >"$scratch/stale-blob/blobs/sha256/$(echo stale | sha256sum | cut -d ' ' -f 1)"
  expect_failure "unreferenced" check_oci "$scratch/stale-blob"
}

case_ReplacesOnlyItsOwnOutputs() {
  "$MKBUSYBOX_OCI" -o "$scratch/a" --rootfs "$scratch/r"
  "$MKBUSYBOX_OCI" -o "$scratch/a" --rootfs "$scratch/r" # a rerun replaces both
  check_oci "$scratch/a" --rootfs "$scratch/r" >/dev/null
  mkdir "$scratch/precious"
  echo keep >"$scratch/precious/file"
  expect_failure "not replacing it" "$MKBUSYBOX_OCI" -o "$scratch/precious"
  expect_failure "not replacing it" "$MKBUSYBOX_OCI" -o "$scratch/b" --bundle "$scratch/precious"
  [[ "$(cat "$scratch/precious/file")" == keep ]] || fail "an unrelated directory was touched"
}

case_FailsNamingBusyboxStaticWhenMissingOrDynamic() {
  expect_failure "busybox-static" env BUSYBOX="$scratch/no-busybox" "$MKBUSYBOX_OCI" -o "$scratch/a"
  # A dynamically linked program (what Debian's plain busybox package
  # installs) cannot run in an image without libc.
  expect_failure "busybox-static" env BUSYBOX="$(command -v bash)" "$MKBUSYBOX_OCI" -o "$scratch/a"
  [[ ! -e "$scratch/a" ]] || fail "a failed run left an output behind"
}

run_case "$@"
