# Shared helpers for hull's shell scripts. Source it; do not run it.

die() {
  echo "error: $*" >&2
  exit 1
}

# Progress goes to stderr so that stdout stays machine-readable.
progress() {
  echo "$*" >&2
}

# Where slow-to-make artefacts (kernels, initramfs) are cached, outside the
# checkout so that a clean clone reuses them.
hull_cache_dir() {
  echo "${HULL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hull}"
}

# need_free_mib DIR MIB WHAT: fail with a clear message when DIR's file system
# has less than MIB free.
need_free_mib() {
  local dir="$1" mib="$2" what="$3" avail
  mkdir -p "$dir"
  avail="$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')"
  if ((avail < mib)); then
    die "$what needs ${mib} MiB free in $dir, only ${avail} MiB left." \
      "Fix: free some space or point HULL_CACHE_DIR at a larger disk."
  fi
}

need_cmd() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 ||
    die "'$cmd' is missing. Fix: run scripts/bootstrap (it installs Debian's $pkg)."
}
