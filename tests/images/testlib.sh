# shellcheck shell=bash
# Helpers for the image tests. Source it; do not run it.
# Each test script runs one named case: `script CASE`, so that every case is
# its own ctest entry and a failure names what broke.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

scratch="" # set by make_scratch

# A scratch directory under $HULL_TEST_SCRATCH (the build tree) or $TMPDIR,
# removed when the test exits, pass or fail.
make_scratch() {
  local base="${HULL_TEST_SCRATCH:-${TMPDIR:-/tmp}}"
  mkdir -p "$base"
  scratch="$(mktemp -d "$base/${1:-test}.XXXXXX")"
  trap 'rm -rf -- "$scratch"' EXIT
}

# expect_failure TEXT CMD...: CMD must exit non-zero and say TEXT on stderr.
expect_failure() {
  local text="$1" rc=0
  shift
  "$@" >"$scratch/stdout" 2>"$scratch/stderr" || rc=$?
  ((rc != 0)) || fail "'$*' succeeded; expected a failure mentioning '$text'"
  grep -qF -- "$text" "$scratch/stderr" ||
    fail "'$*' failed (rc=$rc) without mentioning '$text'; it said: $(cat "$scratch/stderr")"
}

# run_case NAME: calls the function case_NAME, or fails listing the known ones.
run_case() {
  local name="${1:-}"
  if [[ -z "$name" ]] || ! declare -F "case_$name" >/dev/null; then
    fail "unknown case '$name'; known: $(declare -F | awk '/ case_/ { sub("case_", "", $3); print $3 }' | xargs)"
  fi
  "case_$name"
  echo "PASS: $name"
}
