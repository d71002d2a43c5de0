#!/usr/bin/env bash
# The installed C++ package, used the way a user's project uses it.
#
#   install_test.sh BUILD_DIR SOURCE_DIR
#
# Installs BUILD_DIR (`cmake --install`) into a fresh prefix under $TMPDIR,
# builds a copy of examples/inference_server against that prefix alone
# (find_package, CMAKE_PREFIX_PATH) and a small program through pkg-config,
# then runs the installed statesd and statesctl and the example against
# them on 127.0.0.1: the example must load the newest compatible state
# whose SHA-256 checks out, hot-swap to a newer one registered while it
# watches, reject weights that do not match their digest, and stop cleanly
# on SIGTERM or after --max_events. Every wait is bounded; every process is
# killed and the prefix removed on exit (KEEP_WORK=1 keeps it).
#
# Environment: CMAKE, CXX and PKG_CONFIG name the tools (default: cmake, c++,
# pkg-config).
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd -P)
source_dir=$(cd "$2" && pwd -P)
cmake=${CMAKE:-cmake}
cxx=${CXX:-c++}
pkg_config=${PKG_CONFIG:-pkg-config}

work=$(mktemp -d "${TMPDIR:-/tmp}/mozuma-states-install.XXXXXX")
work=$(cd "$work" && pwd -P)
case "$work/" in
  "$build_dir"/* | "$source_dir"/*)
    # The checks below look for the build tree's paths in what the consumer
    # built; a prefix inside the tree would hide them.
    rm -rf "$work"
    work=$(mktemp -d /tmp/mozuma-states-install.XXXXXX)
    ;;
esac
prefix=$work/prefix
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then
    echo "install_test: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

started=$SECONDS
step() { echo "== [$((SECONDS - started)) s] $*"; }

# fail MESSAGE: prints MESSAGE and the logs so far, and exits 1.
fail() {
  echo "install_test: FAILED: $*" >&2
  local log
  for log in "$work"/*.log; do
    [[ -f $log ]] || continue
    echo "---- $(basename "$log") (last 40 lines)" >&2
    tail -n 40 "$log" >&2
  done
  exit 1
}

# wait_for FILE REGEX SECONDS [PID]: waits until a line of FILE matches
# REGEX (grep -E); fails after SECONDS, or as soon as PID has exited
# without printing it.
wait_for() {
  local file=$1 pattern=$2 deadline=$((SECONDS + $3)) pid=${4:-}
  until grep -qE -- "$pattern" "$file" 2>/dev/null; do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
      fail "process $pid exited before printing /$pattern/ in $(basename "$file")"
    fi
    ((SECONDS < deadline)) || fail "no /$pattern/ in $(basename "$file") after $3 s"
    sleep 0.1
  done
}

# expect FILE REGEX: FILE has a line matching REGEX, now.
expect() {
  grep -qE -- "$2" "$1" || fail "no /$2/ in $(basename "$1")"
}

# expect_exit PID SECONDS CODE: PID exits within SECONDS, with status CODE.
expect_exit() {
  local pid=$1 deadline=$((SECONDS + $2)) status=0
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "process $pid still running after $2 s"
    sleep 0.1
  done
  wait "$pid" || status=$?
  forget "$pid"
  ((status == $3)) || fail "process $pid exited with $status, not $3"
}

# forget PID: PID has been waited for; cleanup must not signal its number.
forget() {
  local kept=() pid
  for pid in "${pids[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# ---------------------------------------------------------------------------
step "installing $build_dir into $prefix"
timeout 120 "$cmake" --install "$build_dir" --prefix "$prefix" \
  >"$work/install.log" 2>&1 || fail "cmake --install failed"
for file in \
    bin/statesd bin/statesctl share/bash-completion/completions/statesctl \
    lib/libmozuma_states_client.a lib/libmozuma_states_core.a \
    lib/libmozuma_states_grpc.a lib/libmozuma_states_proto.a \
    lib/cmake/MozumaStates/MozumaStatesConfig.cmake \
    lib/cmake/MozumaStates/MozumaStatesConfigVersion.cmake \
    lib/cmake/MozumaStates/MozumaStatesTargets.cmake \
    lib/pkgconfig/mozuma-states.pc \
    include/mozuma-states/client/client.h \
    include/mozuma-states/client/state_watcher.h \
    include/mozuma-states/core/errors.h \
    include/mozuma-states/core/names.h \
    include/mozuma-states/mozuma/states/v1/state.pb.h \
    include/mozuma-states/mozuma/states/v1/state_service.grpc.pb.h \
    include/mozuma-states/google/rpc/error_details.pb.h \
    include/mozuma-states/google/rpc/status.pb.h \
    share/mozuma-states/proto/mozuma/states/v1/state_service.proto \
    share/mozuma-states/proto/google/rpc/error_details.proto \
    share/mozuma-states/proto/README.md; do
  [[ -e $prefix/$file ]] || fail "not installed: $file"
done
# The Python package: for a prefix other than /usr and /usr/local, the
# layout of a venv there, lib/python3.X/site-packages (python3 -P: no
# current folder on sys.path).
python_version=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
python_dir=$prefix/lib/python$python_version/site-packages
for file in mozuma_states/__init__.py mozuma_states/_version.py \
    mozuma_states/_proto/mozuma/states/v1/state_service_pb2_grpc.py; do
  [[ -e $python_dir/$file ]] || fail "not installed: ${python_dir#"$prefix"/}/$file"
done
installed_python=$(cd "$work" && PYTHONPATH=$python_dir /usr/bin/python3 -P -c \
  'import mozuma_states; print(mozuma_states.__file__)') ||
  fail "the installed mozuma_states does not import"
[[ $installed_python == "$python_dir/mozuma_states/__init__.py" ]] ||
  fail "mozuma_states imported from $installed_python"
# Nothing installed may point back into the trees it came from.
if grep -rlF -e "$build_dir" -e "$source_dir" \
    "$prefix/lib/cmake" "$prefix/lib/pkgconfig" "$prefix/include"; then
  fail "installed files name the build or source tree (above)"
fi

# ---------------------------------------------------------------------------
step "building examples/inference_server against the prefix only"
# A copy, so that nothing of the source tree is in reach; no package
# registry, so that only CMAKE_PREFIX_PATH (and the system) is searched.
cp -R "$source_dir/examples/inference_server" "$work/example"
timeout 300 "$cmake" -S "$work/example" -B "$work/example-build" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  >"$work/example-configure.log" 2>&1 || fail "configuring the example failed"
found_dir=$(sed -n 's/^MozumaStates_DIR:PATH=//p' "$work/example-build/CMakeCache.txt")
[[ $found_dir == "$prefix/lib/cmake/MozumaStates" ]] ||
  fail "find_package(MozumaStates) found $found_dir"
timeout 300 "$cmake" --build "$work/example-build" \
  >"$work/example-build.log" 2>&1 || fail "building the example failed"
for file in "$work/example-build/compile_commands.json" \
    "$work/example-build/CMakeFiles/inference_server.dir/link.txt"; do
  if grep -qF -e "$build_dir" -e "$source_dir" "$file"; then
    fail "$(basename "$file") names the build or source tree: $(cat "$file")"
  fi
done
example=$work/example-build/inference_server
[[ -x $example ]] || fail "no $example"

# ---------------------------------------------------------------------------
step "building a program through pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pc_flags=$("$pkg_config" --cflags --libs mozuma-states) ||
  fail "pkg-config --cflags --libs mozuma-states failed"
[[ $pc_flags == *"$prefix"* ]] || fail "pkg-config flags miss the prefix: $pc_flags"
cat >"$work/pc_program.cc" <<'EOF'
// Looks up one state by its dotted name: the core parses the name, the
// client asks the server.
#include <iostream>

#include "client/client.h"
#include "core/names.h"
#include "core/state_names.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  absl::StatusOr<mozuma::states::v1::StateKey> key =
      mozuma::states::ParseStateKeyName(argv[2], mozuma::states::NameRules{});
  if (!key.ok()) return 1;
  auto client = mozuma::states::Client::Connect(argv[1]);
  absl::StatusOr<mozuma::states::v1::State> state = client->Get(*key);
  if (!state.ok()) {
    std::cout << "pc_program: " << state.status() << "\n";
    return 1;
  }
  std::cout << "pc_program: " << state->name() << " sha256 " << state->sha256()
            << "\n";
  return 0;
}
EOF
# shellcheck disable=SC2086  # pc_flags is a list of flags
timeout 300 "$cxx" -std=c++17 -o "$work/pc_program" "$work/pc_program.cc" \
  $pc_flags >"$work/pc-build.log" 2>&1 || fail "building through pkg-config failed"

# ---------------------------------------------------------------------------
step "starting the installed statesd"
"$prefix/bin/statesd" --listen=127.0.0.1:0 --db=memory: --drain_grace=1s \
  >"$work/statesd.log" 2>&1 &
statesd_pid=$!
pids+=("$statesd_pid")
wait_for "$work/statesd.log" '^statesd: serving ' 30 "$statesd_pid"
address=$(sed -n '1s/^statesd: serving [^ ]* on \(127\.0\.0\.1:[0-9]*\) .*/\1/p' \
  "$work/statesd.log")
[[ -n $address ]] || fail "no address in statesd's first line"
echo "statesd on $address"

mkdir "$work/states"
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }
# make_weights NAME: a file of random bytes.
make_weights() { head -c 40000 /dev/urandom >"$work/states/$1"; }
# tamper FILE: changes one byte and keeps the size.
tamper() { printf 'X' | dd of="$1" bs=1 seek=100 conv=notrunc status=none; }
# register NAME FILE URI [--overwrite], with FILE's current digest and size.
register() {
  "$prefix/bin/statesctl" --server="$address" register "$1" "$3" \
    --sha256="$(sha256_of "$2")" --size_bytes="$(size_of "$2")" "${@:4}" \
    >>"$work/statesctl.log" 2>&1 || fail "statesctl register $1 failed"
}

make_weights run1.pt
make_weights "run 2.pt"
make_weights other.pt
register pytorch.resnet18.cls1000.run1 "$work/states/run1.pt" \
  "file://$work/states/run1.pt"
register pytorch.resnet18.cls1000.run2 "$work/states/run 2.pt" \
  "file://$work/states/run%202.pt"
# Newer, but for another architecture: never a candidate.
register pytorch.resnet50.cls1000.run9 "$work/states/other.pt" \
  "file://$work/states/other.pt"

"$work/pc_program" "$address" pytorch.resnet18.cls1000.run1 \
  >"$work/pc_program.log" 2>&1 || fail "pc_program failed"
expect "$work/pc_program.log" \
  "^pc_program: pytorch.resnet18.cls1000.run1 sha256 $(sha256_of "$work/states/run1.pt")\$"
# The installed Python package reads the same registry.
(cd "$work" && PYTHONPATH=$python_dir timeout 60 /usr/bin/python3 -P -c '
import sys
from mozuma_states import Client
with Client.connect(sys.argv[1]) as client:
    print("python:", client.get("pytorch.resnet18.cls1000.run1").sha256)
' "$address") >"$work/python.log" 2>&1 || fail "the installed Python package failed"
expect "$work/python.log" "^python: $(sha256_of "$work/states/run1.pt")\$"

# ---------------------------------------------------------------------------
step "example: load the newest, hot-swap, reject a bad digest"
log=$work/example-1.log
"$example" --server="$address" --state_type=pytorch.resnet18 --max_events=2 \
  >"$log" 2>&1 &
example_pid=$!
pids+=("$example_pid")
wait_for "$log" '^inference_server: watching for compatible states' 30 "$example_pid"
expect "$log" '^inference_server: found 2 compatible states$'
expect "$log" "^inference_server: verified pytorch\.resnet18\.cls1000\.run2 \(sha256 $(sha256_of "$work/states/run 2.pt"), 40000 bytes\)$"
expect "$log" "^inference_server: loaded pytorch\.resnet18\.cls1000\.run2 \(revision [0-9]+\) from $work/states/run 2\.pt$"

make_weights run3.pt
register pytorch.resnet18.cls1000.run3 "$work/states/run3.pt" \
  "file://$work/states/run3.pt"
wait_for "$log" '^inference_server: hot-swapped pytorch\.resnet18\.cls1000\.run2 -> pytorch\.resnet18\.cls1000\.run3 \(revision [0-9]+\)$' 30 "$example_pid"
expect "$log" "^inference_server: verified pytorch\.resnet18\.cls1000\.run3 \(sha256 $(sha256_of "$work/states/run3.pt")"

make_weights run4.pt
cp "$work/states/run4.pt" "$work/states/run4.orig"
tamper "$work/states/run4.pt"
register pytorch.resnet18.cls1000.run4 "$work/states/run4.orig" \
  "file://$work/states/run4.pt"
wait_for "$log" '^inference_server: rejected pytorch\.resnet18\.cls1000\.run4: sha256 mismatch' 30 "$example_pid"
wait_for "$log" '^inference_server: keeping pytorch\.resnet18\.cls1000\.run3$' 10 "$example_pid"
wait_for "$log" '^inference_server: stopping after 2 events$' 10 "$example_pid"
expect_exit "$example_pid" 20 0
expect "$log" '^inference_server: stopped; serving pytorch\.resnet18\.cls1000\.run3$'
if grep -q 'run9\|loaded pytorch.resnet18.cls1000.run4\|-> pytorch.resnet18.cls1000.run4' "$log"; then
  fail "the example took an incompatible or unverified state"
fi

# ---------------------------------------------------------------------------
step "example: fall back past bad weights at start, stop on SIGTERM"
tamper "$work/states/run3.pt"
log=$work/example-2.log
"$example" "$address" >"$log" 2>&1 &
example_pid=$!
pids+=("$example_pid")
wait_for "$log" '^inference_server: watching for compatible states' 30 "$example_pid"
expect "$log" '^inference_server: found 4 compatible states$'
expect "$log" '^inference_server: rejected pytorch\.resnet18\.cls1000\.run4: sha256 mismatch'
expect "$log" '^inference_server: rejected pytorch\.resnet18\.cls1000\.run3: sha256 mismatch'
expect "$log" '^inference_server: loaded pytorch\.resnet18\.cls1000\.run2 '
# The watch's snapshot repeats the listing: nothing is read twice.
(($(grep -c 'rejected pytorch.resnet18.cls1000.run4' "$log") == 1)) ||
  fail "run4's weights were checked more than once"
kill -TERM "$example_pid"
expect_exit "$example_pid" 20 0
expect "$log" '^inference_server: stopping: SIGTERM received$'
expect "$log" '^inference_server: stopped; serving pytorch\.resnet18\.cls1000\.run2$'

# ---------------------------------------------------------------------------
step "example: pinned training id, replaced weights"
log=$work/example-3.log
"$example" --server="$address" --training_id=run1 >"$log" 2>&1 &
example_pid=$!
pids+=("$example_pid")
wait_for "$log" '^inference_server: watching for compatible states' 30 "$example_pid"
expect "$log" '^inference_server: found 1 compatible states$'
expect "$log" '^inference_server: loaded pytorch\.resnet18\.cls1000\.run1 '
make_weights run1-retrained.pt
register pytorch.resnet18.cls1000.run1 "$work/states/run1-retrained.pt" \
  "file://$work/states/run1-retrained.pt" --overwrite
wait_for "$log" '^inference_server: event UPDATED pytorch\.resnet18\.cls1000\.run1 ' 30 "$example_pid"
wait_for "$log" '^inference_server: hot-swapped pytorch\.resnet18\.cls1000\.run1 -> pytorch\.resnet18\.cls1000\.run1 ' 10 "$example_pid"
kill -TERM "$example_pid"
expect_exit "$example_pid" 20 0

# ---------------------------------------------------------------------------
step "stopping statesd"
kill -TERM "$statesd_pid"
expect_exit "$statesd_pid" 20 0
step "passed"
