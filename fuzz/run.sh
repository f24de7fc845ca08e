#!/usr/bin/env bash
# Bounded fuzzing of the parsers the server runs on untrusted input (see fuzz_targets/): builds
# every target with cargo-fuzz (debug profile: overflow checks on, and it compiles faster), then
# runs each for FUZZ_SECONDS (default 20) from the committed seeds in corpus/<target>. A crash, a
# failed assertion or a timeout fails the script; the input is left in artifacts/<target>/.
#
# Needs cargo-fuzz (cargo install --locked cargo-fuzz). cargo-fuzz passes nightly-only flags to
# rustc; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
#
# The build goes to FUZZ_TARGET_DIR (default ~/.cache/openadr3-vtn/fuzz-target), outside the
# checkout, so that CI on a fresh clone rebuilds only this crate and the server's, not every
# dependency with coverage instrumentation (about 14 minutes on 2 cores).
#
# Usage: fuzz/run.sh [target...]     FUZZ_SECONDS=300 fuzz/run.sh event
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-20}"
target_dir="${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/openadr3-vtn/fuzz-target}"
flags=(--dev --sanitizer none --target-dir "$target_dir")

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

start=$SECONDS
cargo fuzz build "${flags[@]}"
echo "fuzz build: $((SECONDS - start)) s"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
  echo "==> fuzzing $target for $seconds s"
  mkdir -p "$work/$target" "corpus/$target"
  # New inputs go to a scratch corpus; the committed seeds are only read.
  cargo fuzz run "${flags[@]}" "$target" "$work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -dict=openadr.dict -print_final_stats=1 2>&1 |
    grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' || {
      echo "fuzz target $target failed: see fuzz/artifacts/$target/"
      exit 1
    }
done
