#!/usr/bin/env bash
# Fuzzes the proxy's HTTP API from its own OpenAPI document (GET /api/openapi.json) with
# schemathesis: every generated request, valid or not, must be answered without a 5xx.
#
#   bash proxy/tests/schemathesis.sh            # from the workspace root (or anywhere)
#
# - schemathesis (pinned) is installed into target/schemathesis-venv, only when missing;
# - the proxy binary is built (debug, honouring CARGO_TARGET_DIR) unless PROXY_BIN names one;
# - the proxy runs in sandbox mode (SANDBOX=true, no YCloud key, no app secret: nothing leaves the
#   machine) on a port the OS picks, with a temporary database, and is stopped afterwards;
# - the partner API is called with a key the proxy is started with;
# - SCHEMATHESIS_MAX_EXAMPLES (default 30) bounds the examples per operation.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION="4.32.5"
VENV="$ROOT/target/schemathesis-venv"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-30}"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "version $VERSION"; then
    echo "schemathesis.sh: installing schemathesis $VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

if [ -z "${PROXY_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --quiet -p proxy --bin wa-signup-proxy)
    PROXY_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/wa-signup-proxy"
fi

# The partner API is fuzzed with a valid key, so its handlers (not only its 401) are reached.
PARTNER_KEY="schemathesis-partner-key-0123456789abcdef"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/wa-proxy-schemathesis.XXXXXX")"
PID=""
cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Run from the temporary directory so that no developer's .env is read; port 0 lets the OS
# pick a free port, which the start-up banner then names. No per-client rate limit: every
# generated request comes from one client and should reach its handler.
(
    cd "$WORK"
    exec env -u YCLOUD_API_KEY -u FB_APP_SECRET -u DATABASE_URL -u ALLOWED_ORIGINS \
        -u SANDBOX_ALLOW_PUBLIC -u ALLOW_UNVERIFIED_ONBOARDINGS \
        SANDBOX=true \
        ADDR=127.0.0.1:0 \
        DATABASE_URL="sqlite://$WORK/onboarding.db" \
        DIST_DIR="$WORK/no-dist" \
        YCLOUD_WEBHOOK_SECRET="whsec_schemathesis_only" \
        PARTNER_API_KEYS="$PARTNER_KEY" \
        RATE_LIMIT_PER_MINUTE=0 \
        RUST_LOG="${RUST_LOG:-warn}" \
        "$PROXY_BIN" >"$WORK/stdout" 2>"$WORK/stderr"
) &
PID=$!

URL=""
for _ in $(seq 1 100); do
    URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/stdout" 2>/dev/null | head -n1 || true)"
    [ -n "$URL" ] && break
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "schemathesis.sh: the proxy did not start:" >&2
        cat "$WORK/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$URL" ]; then
    echo "schemathesis.sh: the proxy printed no address within 10 s" >&2
    cat "$WORK/stderr" >&2
    exit 1
fi

cd "$WORK"
status=0
"$VENV/bin/schemathesis" run "$URL/api/openapi.json" \
    --checks not_a_server_error \
    --header "Authorization: Bearer $PARTNER_KEY" \
    --max-examples "$MAX_EXAMPLES" \
    --request-timeout 10 \
    --generation-database none \
    --no-color || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis.sh: failed; the proxy's log follows" >&2
    tail -n 50 "$WORK/stderr" >&2
fi
exit "$status"
