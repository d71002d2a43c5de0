#!/usr/bin/env bash
# Proto hygiene with buf (tools/node_modules/.bin/buf, installed by
# scripts/install-deps.sh):
#   check-proto.sh lint      buf lint, STANDARD rules (proto/buf.yaml)
#   check-proto.sh breaking  buf breaking against the previous commit, and
#                            against HEAD when proto/ has uncommitted changes
# Exits 77 (skipped) for `breaking` when there is no earlier proto/ to compare
# with: the first commit of the API, or a shallow clone.
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
  *)
    echo "usage: $0 lint|breaking" >&2
    exit 2
    ;;
esac
