#!/usr/bin/env bash
# Replaces the vendored GraphiQL, React and ReactDOM builds with the versions given, from the npm
# registry (npm pack), with their licence files. Usage: assets/graphiql/update.sh GRAPHIQL REACT
# e.g. assets/graphiql/update.sh 4.0.3 18.3.1. GraphiQL must still ship its standalone bundle
# (graphiql.min.js, 4.x does; 5.x does not) and React its UMD builds (18.x does; 19 does not).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
graphiql=${1:?GraphiQL version}
react=${2:?React version}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "graphiql@$graphiql" "react@$react" "react-dom@$react" >/dev/null
for p in "graphiql-$graphiql" "react-$react" "react-dom-$react"; do mkdir "$p" && tar xzf "$p.tgz" -C "$p"; done
cp "graphiql-$graphiql/package/graphiql.min.js" "graphiql-$graphiql/package/graphiql.min.css" "$here/"
cp "react-$react/package/umd/react.production.min.js" "$here/"
cp "react-dom-$react/package/umd/react-dom.production.min.js" "$here/"
cp "graphiql-$graphiql/package/LICENSE" "$here/LICENSE.graphiql"
cp "react-$react/package/LICENSE" "$here/LICENSE.react"
cp "react-dom-$react/package/LICENSE" "$here/LICENSE.react-dom"
echo "updated to graphiql $graphiql, react and react-dom $react: update README.md, then run"
echo "cargo test --test api graphiql and scripts/browser_check.sh"
