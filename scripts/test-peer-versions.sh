#!/usr/bin/env bash
# Runs the core, server and client Node suites on the edges of our peer ranges:
#   lowest: tRPC 11.2.0 and kysely 0.28.19 (the oldest the ranges allow);
#   newest: the highest tRPC and kysely the ranges allow, as the registry
#           serves them today (the lockfile may lag behind).
# Works in a throwaway copy of the committed tree (git worktree), so the
# checkout and its lockfile are never touched. Prints vitest's own summaries;
# exits non-zero when a suite fails.
# Use: bash scripts/test-peer-versions.sh lowest|newest
set -euo pipefail
cd "$(dirname "$0")/.."

# The highest published version in a range (the lockfile would keep an older one that fits).
newest() {
  npm view "$1@$2" version --json | node -e '
    const found = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const key = (v) => v.split(".").map(Number);
    const order = (a, b) => { for (let i = 0; i < 3; i++) if (key(a)[i] !== key(b)[i]) return key(a)[i] - key(b)[i]; return 0; };
    console.log([found].flat().sort(order).at(-1));'
}

case "${1:-}" in
  lowest) TRPC=11.2.0 KYSELY=0.28.19 ;;
  newest)
    TRPC="$(newest @trpc/server '^11.2.0')"
    KYSELY="$(newest kysely '^0.28.19 || ^0.29.8')"
    ;;
  *) echo "usage: test-peer-versions.sh lowest|newest" >&2; exit 2 ;;
esac

dir="$(mktemp -d)/peers-$1"
git worktree add --detach --quiet "$dir" HEAD
cleanup() { git worktree remove --force "$dir" >/dev/null 2>&1 || rm -rf "$dir"; }
trap cleanup EXIT

cd "$dir"
cat >>pnpm-workspace.yaml <<YAML

overrides:
  "@trpc/server": "$TRPC"
  "@trpc/client": "$TRPC"
  kysely: "$KYSELY"
YAML
pnpm install --no-frozen-lockfile --prefer-offline --reporter=silent
version() { node -p "require('./packages/server/node_modules/$1/package.json').version"; }
echo "$1 peer versions: @trpc/server $(version @trpc/server), kysely $(version kysely)"

status=0
for package in core server client; do
  (cd "packages/$package" && npx vitest run --reporter=dot --typecheck.enabled=false) || status=1
done
exit $status
