#!/usr/bin/env bash
# Proto hygiene with buf (tools/node_modules/.bin/buf, installed by
# scripts/install-deps.sh):
#   check-proto.sh lint              buf lint, STANDARD rules (proto/buf.yaml)
#   check-proto.sh breaking          buf breaking (FILE rules) against the last
#                                    released API (the newest snapshot in
#                                    proto/releases/), against the previous
#                                    commit, and against HEAD when proto/ has
#                                    uncommitted changes
#   check-proto.sh release VERSION   writes proto/releases/VERSION.json, the
#                                    snapshot of the API as released (see
#                                    docs/VERSIONING.md)
# Exits 77 (skipped) for `breaking` when there is nothing to compare with.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
buf="$root/tools/node_modules/.bin/buf"
[[ -x $buf ]] || { echo "buf not found at $buf; run scripts/install-deps.sh" >&2; exit 1; }
cd "$root"

case "${1:-}" in
  lint)
    "$buf" lint proto
    echo "buf lint: proto/ passes the STANDARD rules"
    ;;
  breaking)
    compared=0
    # The newest release by version order (sort -V), if any.
    release=$(ls proto/releases/*.json 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n $release ]]; then
      "$buf" breaking proto --against "$release"
      echo "buf breaking: no breaking change against the released API $(basename "$release" .json)"
      compared=1
    fi
    if git cat-file -e "HEAD~1:proto/buf.yaml" 2>/dev/null; then
      "$buf" breaking proto --against ".git#ref=HEAD~1,subdir=proto"
      echo "buf breaking: no breaking change against HEAD~1 ($(git rev-parse --short HEAD~1))"
      compared=1
    fi
    if git cat-file -e "HEAD:proto/buf.yaml" 2>/dev/null && [[ -n $(git status --porcelain -- proto) ]]; then
      "$buf" breaking proto --against ".git#ref=HEAD,subdir=proto"
      echo "buf breaking: no breaking change in the uncommitted proto/ against HEAD"
      compared=1
    fi
    if ((compared == 0)); then
      echo "buf breaking: skipped, no earlier proto/ in this clone's history"
      exit 77
    fi
    ;;
  release)
    version=${2:-}
    [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "usage: $0 release X.Y.Z" >&2; exit 2; }
    out="proto/releases/$version.json"
    [[ ! -e $out ]] || { echo "$out exists: a release is never rewritten" >&2; exit 1; }
    mkdir -p proto/releases
    # A buf image with its imports, indented so that a review can read it.
    "$buf" build proto --exclude-source-info -o "$out.tmp.json"
    python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), indent=1, sort_keys=True)' "$out.tmp.json" "$out"
    rm -f "$out.tmp.json"
    "$buf" breaking proto --against "$out" >/dev/null
    echo "wrote $out"
    ;;
  *)
    echo "usage: $0 lint|breaking|release X.Y.Z" >&2
    exit 2
    ;;
esac
