#!/usr/bin/env bash
# Runs the core, server and client Node suites on the lowest versions our peer
# ranges allow (the lockfile holds the newest): tRPC 11.0.0 and kysely 0.28.19.
# Works in a throwaway copy of the committed tree (git worktree), so the
# checkout and its lockfile are never touched. Prints vitest's own summaries;
# exits non-zero when a suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."

LOWEST_TRPC=11.0.0
LOWEST_KYSELY=0.28.19

dir="$(mktemp -d)/lowest"
git worktree add --detach --quiet "$dir" HEAD
cleanup() { git worktree remove --force "$dir" >/dev/null 2>&1 || rm -rf "$dir"; }
trap cleanup EXIT

cd "$dir"
cat >>pnpm-workspace.yaml <<YAML

overrides:
  "@trpc/server": "$LOWEST_TRPC"
  "@trpc/client": "$LOWEST_TRPC"
  "@trpc/react-query": "$LOWEST_TRPC"
  kysely: "$LOWEST_KYSELY"
YAML
pnpm install --no-frozen-lockfile --prefer-offline --reporter=silent
echo "lowest versions: @trpc/server $(node -p "require('./packages/server/node_modules/@trpc/server/package.json').version"), kysely $(node -p "require('./packages/server/node_modules/kysely/package.json').version")"

status=0
for package in core server client; do
  (cd "packages/$package" && npx vitest run --reporter=dot --typecheck.enabled=false) || status=1
done
exit $status
