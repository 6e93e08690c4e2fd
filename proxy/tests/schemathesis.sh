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
# - Meta's webhooks (/webhooks/meta) are fuzzed apart, against a second sandboxed
#   proxy holding an app secret (its Graph API a closed loopback port);
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
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Starts a sandboxed proxy in "$WORK/$1" with the extra variables that follow, and sets URL to
# its address. Run from that directory so that no developer's .env is read; port 0 lets the
# OS pick a free port, which the start-up banner then names. No per-client rate limit: every
# generated request comes from one client and should reach its handler.
start_proxy() {
    local dir="$WORK/$1"
    shift
    mkdir -p "$dir"
    (
        cd "$dir"
        exec env -u YCLOUD_API_KEY -u FB_APP_SECRET -u DATABASE_URL -u ALLOWED_ORIGINS \
            -u SANDBOX_ALLOW_PUBLIC -u ALLOW_UNVERIFIED_ONBOARDINGS -u GRAPH_BASE_URL \
            -u WHATSAPP_PROVIDER -u META_WEBHOOK_VERIFY_TOKEN \
            SANDBOX=true \
            ADDR=127.0.0.1:0 \
            DATABASE_URL="sqlite://$dir/onboarding.db" \
            DIST_DIR="$dir/no-dist" \
            YCLOUD_WEBHOOK_SECRET="whsec_schemathesis_only" \
            META_WEBHOOK_VERIFY_TOKEN="schemathesis-verify-token" \
            PARTNER_API_KEYS="$PARTNER_KEY" \
            RATE_LIMIT_PER_MINUTE=0 \
            RUST_LOG="${RUST_LOG:-warn}" \
            "$@" \
            "$PROXY_BIN" >"$dir/stdout" 2>"$dir/stderr"
    ) &
    local pid=$!
    PIDS+=("$pid")
    URL=""
    for _ in $(seq 1 100); do
        URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$dir/stdout" 2>/dev/null | head -n1 || true)"
        [ -n "$URL" ] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "schemathesis.sh: the proxy did not start:" >&2
            cat "$dir/stderr" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "schemathesis.sh: the proxy printed no address within 10 s" >&2
    cat "$dir/stderr" >&2
    exit 1
}

# Runs schemathesis against URL with the arguments that follow; on failure, shows the log of
# the proxy in "$WORK/$1".
fuzz() {
    local dir="$WORK/$1"
    shift
    local status=0
    (cd "$dir" && "$VENV/bin/schemathesis" run "$URL/api/openapi.json" \
        --checks not_a_server_error \
        --header "Authorization: Bearer $PARTNER_KEY" \
        --max-examples "$MAX_EXAMPLES" \
        --request-timeout 10 \
        --generation-database none \
        --no-color "$@") || status=$?
    if [ "$status" -ne 0 ]; then
        echo "schemathesis.sh: failed; the proxy's log follows" >&2
        tail -n 50 "$dir/stderr" >&2
    fi
    return "$status"
}

status=0
# Every operation but Meta's webhooks, whose POST needs FB_APP_SECRET (503 without).
start_proxy all
fuzz all --exclude-path /webhooks/meta || status=$?
# Meta's webhooks (the handshake and the signed POST), with the app secret that verifies them. The secret also turns the ownership
# check on: its Graph API is a closed loopback port, and no sign-up is fuzzed here.
start_proxy meta FB_APP_SECRET="schemathesis-app-secret" GRAPH_BASE_URL="http://127.0.0.1:9"
fuzz meta --include-path '/webhooks/meta' || status=$?
exit "$status"
