#!/usr/bin/env bash
# Interop: run the whole gwspec catalog against a real CloudCLI server (npm @cloudcli-ai/cloudcli),
# a gateway nobody on the team wrote, with the gwspec-provider personas as its four providers.
#
#   make interop-cloudcli VERSION=1.37.3        (or VERSION=1.37.2)
#   GWSPEC_BIN=bin VERSION=1.37.3 bash tests/interop-cloudcli.sh [extra gwspec run args...]
#
# 1. Installs VERSION from the npm registry into .interop/cloudcli-VERSION/ (git-ignored), once:
#    the wrapper package.json tests/interop/package-VERSION.json (the exact dependency, the
#    overrides of cloudcli-notes.md §11.1, for 1.37.3 the ripgrep platform package), then
#    npm install --omit=dev --omit=optional --ignore-scripts --before=<the release date> and
#    npm rebuild better-sqlite3 --build-from-source against the local node headers. A later run
#    reuses the install while the template and the node version are unchanged.
# 2. Wires in the personas: .interop/cloudcli-VERSION/gwspec-bin/{claude,cursor-agent,opencode}
#    and the Codex SDK's vendored binary path, all symlinks to GWSPEC_BIN/gwspec-provider.
# 3. Runs `gwspec run --target fixtures/targets/cloudcli-VERSION.yaml --baseline
#    fixtures/baselines/cloudcli-VERSION.yaml -j 1` over every case. The profile starts the
#    server itself (tests/interop/cloudcli-server.sh: isolated HOME and DATABASE_PATH under
#    the harness's state directory, a free loopback port, ready once /health answers) and stops
#    it at the end; own_target cases get their own server.
# 4. Sweeps any server process group that is still alive (by the group ids the server script
#    recorded), whatever happened to the harness.
# Exit status: gwspec's (0 every case passed or is a known failure; 1 a failure or a stale
# baseline entry; 3 a harness error), or 4 when the install failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VERSION=${VERSION:-1.37.3}
BIN=${GWSPEC_BIN:-bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
IDIR=$ROOT/.interop/cloudcli-$VERSION
TEMPLATE=$ROOT/tests/interop/package-$VERSION.json
PROFILE=fixtures/targets/cloudcli-$VERSION.yaml
BASELINE=fixtures/baselines/cloudcli-$VERSION.yaml
REPORTS=${GWSPEC_INTEROP_REPORTS:-$ROOT/reports/interop-cloudcli-$VERSION}

# --before: the registry as it was when VERSION was published (the package has no lockfile).
case $VERSION in
    1.37.2) BEFORE=2026-09-04T00:00:00Z ;;
    1.37.3) BEFORE=2026-09-10T02:00:00Z ;;
    *) echo "interop-cloudcli: no recipe for VERSION=$VERSION (known: 1.37.2, 1.37.3)" >&2; exit 2 ;;
esac
for f in "$TEMPLATE" "$PROFILE" "$BASELINE" "$BIN/gwspec" "$BIN/gwspec-provider"; do
    [ -e "$f" ] || { echo "interop-cloudcli: missing $f" >&2; exit 2; }
done

log() { printf 'interop-cloudcli: %s\n' "$*" >&2; }
now() { date +%s; }

# ---- 1. install ----------------------------------------------------------------------------
node_headers() {
    # a prefix whose include/node has node.h and common.gypi (what node-gyp's nodedir wants)
    local exe prefix cand
    exe=$(node -p 'process.execPath')
    prefix=$(dirname "$(dirname "$(readlink -f "$exe")")")
    for cand in "$prefix" "$(node -p 'process.config.variables.node_prefix || ""')" /usr/local /usr; do
        [ -n "$cand" ] || continue
        if [ -f "$cand/include/node/node.h" ] && [ -f "$cand/include/node/common.gypi" ]; then
            echo "$cand"
            return 0
        fi
    done
    return 1
}

build_tools() {
    local missing=()
    command -v python3 >/dev/null || missing+=(python3)
    command -v make >/dev/null || missing+=(make)
    command -v g++ >/dev/null || missing+=(g++)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing ${missing[*]} (better-sqlite3 is built from source)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 make g++ >/dev/null
    else
        log "missing ${missing[*]}; run as root: apt-get install -y python3 make g++"
        return 1
    fi
}

STAMP=$IDIR/.gwspec-installed
STAMP_TEXT="$(sha256sum "$TEMPLATE" | cut -d' ' -f1) before=$BEFORE node=$(node --version)"
install() {
    local t0 nodedir
    t0=$(now)
    build_tools || return 1
    nodedir=$(node_headers) || {
        log "no node headers found (need <prefix>/include/node/node.h for better-sqlite3);" \
            "install the distribution's nodejs headers (Debian: libnode-dev or nodejs-dev)"
        return 1
    }
    log "installing @cloudcli-ai/cloudcli@$VERSION into $IDIR (npm registry as of $BEFORE)"
    rm -rf "$IDIR"
    mkdir -p "$IDIR"
    cp "$TEMPLATE" "$IDIR/package.json"
    (
        cd "$IDIR"
        npm install --omit=dev --omit=optional --ignore-scripts --before="$BEFORE" \
            --replace-registry-host=always --no-audit --no-fund --loglevel=error
        log "building better-sqlite3 from source (nodedir $nodedir)"
        npm_config_nodedir=$nodedir npm rebuild better-sqlite3 --build-from-source \
            --loglevel=error
    ) >"$ROOT/.interop/install-$VERSION.log" 2>&1 || {
        log "install failed; the last lines of .interop/install-$VERSION.log:"
        tail -n 30 "$ROOT/.interop/install-$VERSION.log" >&2
        return 1
    }
    [ -f "$IDIR/node_modules/@cloudcli-ai/cloudcli/dist-server/server/index.js" ] || {
        log "install finished but the server entry is missing"; return 1; }
    ls "$IDIR"/node_modules/better-sqlite3/build/Release/better_sqlite3.node >/dev/null || {
        log "better-sqlite3 was not built"; return 1; }
    echo "$STAMP_TEXT" >"$STAMP"
    log "installed in $(( $(now) - t0 )) s"
}

mkdir -p "$ROOT/.interop"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ]; then
    log "reusing the install in $IDIR"
else
    install || exit 4
fi

# ---- 2. the personas -----------------------------------------------------------------------
PROVIDER=$BIN/gwspec-provider
PBIN=$IDIR/gwspec-bin
mkdir -p "$PBIN"
for name in claude cursor-agent opencode codex; do
    ln -sfn "$PROVIDER" "$PBIN/$name"
done
# Codex: @openai/codex-sdk spawns the binary of the platform package that @openai/codex
# resolves (@openai/codex-linux-x64, left out by --omit=optional), at
# vendor/<triple>/codex/codex (the legacy layout, which needs no codex-package.json).
CODEX_PKG=$(cd "$IDIR" && node -e '
  const path = require("path");
  const codex = require.resolve("@openai/codex/package.json", {paths: [process.cwd()]});
  let dir = path.dirname(codex);
  // the platform package is looked up from @openai/codex: its node_modules first, then up
  const own = path.join(dir, "node_modules");
  const fs = require("fs");
  const base = fs.existsSync(path.join(own, "@openai")) ? own : path.dirname(path.dirname(dir));
  process.stdout.write(path.join(base, "@openai", "codex-linux-x64"));')
mkdir -p "$CODEX_PKG/vendor/x86_64-unknown-linux-musl/codex"
cat >"$CODEX_PKG/package.json" <<'EOF'
{"name": "@openai/codex-linux-x64", "version": "0.0.0-gwspec-persona", "private": true,
 "description": "gwspec interop stub: vendor/x86_64-unknown-linux-musl/codex/codex is gwspec-provider"}
EOF
ln -sfn "$PROVIDER" "$CODEX_PKG/vendor/x86_64-unknown-linux-musl/codex/codex"
(cd "$IDIR" && node -e '
  const {createRequire} = require("module");
  const r = createRequire(require.resolve("@openai/codex/package.json", {paths: [process.cwd()]}));
  r.resolve("@openai/codex-linux-x64/package.json");') || {
    log "the codex stub at $CODEX_PKG is not where @openai/codex looks"; exit 4; }

# ---- 3. the suite --------------------------------------------------------------------------
PGIDS=$ROOT/.interop/pgids-$VERSION.$$
: >"$PGIDS"
sweep() {
    local g
    while read -r g; do
        [ -n "$g" ] && kill -KILL -- "-$g" 2>/dev/null || true
    done <"$PGIDS"
    rm -f "$PGIDS"
}
trap sweep EXIT
mkdir -p "$REPORTS"
log "running the catalog against CloudCLI $VERSION ($PROFILE, baseline $BASELINE)"
t0=$(now)
set +e
GWSPEC_INTEROP_PGIDS=$PGIDS "$BIN/gwspec" run --target "$PROFILE" --baseline "$BASELINE" -j 1 \
    --json "$REPORTS/json" --junit "$REPORTS/junit.xml" "$@"
rc=$?
set -e
log "suite finished in $(( $(now) - t0 )) s, exit status $rc (reports in ${REPORTS#$ROOT/})"
exit $rc
