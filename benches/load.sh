#!/usr/bin/env bash
# HTTP load benchmark of tokenbridge (issue 17): the five exchange pipelines under 64 connections
# against the two-core crypto ceiling measured in the same run, a light-load latency run, and the
# opt-in exchange cache if this build has one. Loopback only; about 7 minutes after the builds.
#
#   benches/load.sh            # prints the table; results in target/load/results.json
#   python3 benches/chart.py target/load/results.json docs/load.svg
#
# Needs Debian's wrk and openssl (apt-get install -y wrk openssl) and curl. Knobs, for a quick try
# (the defaults are the benchmark): LOAD_REPS, LOAD_SECONDS, LOAD_WARMUP, LOAD_DISTINCT,
# LOAD_SPEED_RUNS (openssl speed runs on each side of the load); LOAD_BIN
# benchmarks another build (an earlier commit's release binary) instead of this tree's, LOAD_OUT
# writes elsewhere than target/load.
#
# wrk runs in the SCHED_BATCH class (chrt -b): its wake-ups then don't preempt tokenbridge's
# workers. Under the default class nearly every answer woke wrk onto the core a worker was
# computing on (about one involuntary context switch per request, measured in
# /proc/PID/task/*/status); that is the co-located load generator's cost, not the service's.
# LOAD_WRK_CLASS=other measures with the default class instead.
set -euo pipefail

cd "$(dirname "$0")/.."
REPS=${LOAD_REPS:-3}
SECONDS_PER_REP=${LOAD_SECONDS:-8}
WARMUP=${LOAD_WARMUP:-3}
DISTINCT=${LOAD_DISTINCT:-10000}
CONNECTIONS=64
LIGHT_SECONDS=4
OUT=${LOAD_OUT:-target/load}
RUN=$OUT/run
LUA=benches/load/exchange.lua
SECRET=bench-secret-0123456789
FIXTURES=$PWD/tests/fixtures/keys
CLK_TCK=$(getconf CLK_TCK)
WRK_CLASS=${LOAD_WRK_CLASS:-batch}
case $WRK_CLASS in
batch) WRK=(chrt --batch 0 wrk) ;;
other) WRK=(wrk) ;;
*) echo "load.sh: LOAD_WRK_CLASS is batch or other, not $WRK_CLASS" >&2 && exit 1 ;;
esac

die() {
    echo "load.sh: $*" >&2
    exit 1
}
note() { echo "== $*" >&2; }

for tool in wrk openssl curl awk getconf chrt; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install -y wrk openssl curl)"
done

IDP_PID=
SERVER_PID=
cleanup() {
    local pid
    for pid in $SERVER_PID $IDP_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $SERVER_PID $IDP_PID; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
# Turn a signal into a normal exit so the EXIT trap runs once, then stop.
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$RUN"
mkdir -p "$RUN"

if [[ -n ${LOAD_BIN:-} ]]; then
    [[ -x $LOAD_BIN ]] || die "LOAD_BIN=$LOAD_BIN is not an executable"
    BIN=$LOAD_BIN
else
    note "building (the first release build takes minutes on 2 cores)"
    cargo build --release --quiet
    BIN=target/release/tokenbridge
fi
# The minter is an example: it uses the crate's demo IdP, and examples get the dev-dependency's
# test-util feature, which the release binary must not carry. Its speed doesn't matter.
cargo build --example load-idp --quiet
MINTER=target/debug/examples/load-idp

# ---------------------------------------------------------------------------------------------
# The crypto ceiling: openssl's two-process rates of the operations an exchange does.

# Prints rsa_priv= rsa_verify= es_sign= es_verify= ecdh= (operations/s over both processes).
openssl_rates() {
    openssl speed -multi 2 -seconds 2 -mr rsa2048 ecdsap256 ecdhp256 2>/dev/null | awk -F: '
        /^\+F2:/ { print "rsa_priv=" $4; print "rsa_verify=" $5 }
        /^\+F4:/ { print "es_sign=" $4; print "es_verify=" $5 }
        /^\+F5:/ { print "ecdh=" $4 }'
}

# One openssl speed run moves by ±15 % on a shared VM (one measured RSA-2048 private at 327 µs,
# the next at 265 µs): each side of the load takes the median of SPEED_RUNS runs.
SPEED_RUNS=${LOAD_SPEED_RUNS:-3}
declare -A BEFORE AFTER RATE
read_rates() { # ARRAY_NAME
    local -n into=$1
    local -A samples=()
    local key value op
    for _ in $(seq "$SPEED_RUNS"); do
        while IFS='=' read -r key value; do samples[$key]+="$value "; done < <(openssl_rates)
    done
    for op in rsa_priv rsa_verify es_sign es_verify ecdh; do
        [[ -n ${samples[$op]:-} ]] || die "openssl speed gave no $op rate"
        # shellcheck disable=SC2086 # one word per run
        into[$op]=$(printf '%s\n' ${samples[$op]} | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    done
}

note "openssl speed (before)"
read_rates BEFORE

# ---------------------------------------------------------------------------------------------
# The IdP, the tokens and the config.

TTL=3600
note "starting the test IdP and minting $DISTINCT distinct tokens"
"$MINTER" "$RUN/tokens" "$TTL" "$DISTINCT" >"$RUN/idp.log" 2>&1 &
IDP_PID=$!
for _ in $(seq 600); do
    [[ -s $RUN/tokens/issuer ]] && break
    kill -0 "$IDP_PID" 2>/dev/null || die "the IdP exited: $(cat "$RUN/idp.log")"
    sleep 0.2
done
[[ -s $RUN/tokens/issuer ]] || die "the IdP wrote no tokens within 120 s"
ISSUER=$(cat "$RUN/tokens/issuer")

DIGEST=$(printf %s "$SECRET" | sha256sum | cut -d' ' -f1)

# Pipelines: id, subject token file, issued alg, the public-key operations of one exchange.
PIPES=(a b c d e)
declare -A NAME TOKEN ALG OPS
NAME[a]="JWE RSA-OAEP-256/A256GCM (RS256 inside) → RS256"
NAME[b]="JWE RSA-OAEP-256/A256GCM (RS256 inside) → ES256"
NAME[c]="JWE ECDH-ES+A256KW/A256GCM (ES256 inside) → ES256"
NAME[d]="JWS RS256 → ES256"
NAME[e]="JWS RS256 → RS256"
TOKEN[a]=jwe-rsa-oaep-256.jwt TOKEN[b]=jwe-rsa-oaep-256.jwt TOKEN[c]=jwe-ecdh-es-a256kw.jwt
TOKEN[d]=jws-rs256.jwt TOKEN[e]=jws-rs256.jwt
ALG[a]=RS256 ALG[b]=ES256 ALG[c]=ES256 ALG[d]=ES256 ALG[e]=RS256
OPS[a]="rsa_priv rsa_verify rsa_priv"
OPS[b]="rsa_priv rsa_verify es_sign"
OPS[c]="ecdh es_verify es_sign"
OPS[d]="rsa_verify es_sign"
OPS[e]="rsa_verify rsa_priv"

client_section() { # ID SIGNING_ALG [EXTRA_LINE…]
    local id=$1 alg=$2
    shift 2
    cat <<EOF

[[client]]
id = "$id"
secret = { sha256 = "$DIGEST" }
upstreams = ["idp"]
audiences = ["bench-rp"]
signing_alg = "$alg"
# The benchmark measures the pipeline, not the per-client limit.
rate_limit = { per_second = 1000000, burst = 1000000 }
EOF
    local line
    for line in "$@"; do echo "$line"; done
}

write_config() { # FILE [CACHE_LINE…]: the cached client gets the given lines, none: no client
    local file=$1
    shift
    {
        cat <<EOF
issuer = "http://127.0.0.1"
listen = "127.0.0.1:0"
workers = 2

[keys]
dir = "$PWD/$RUN/keys"

[[keys.signing]]
file = "$FIXTURES/signing-RS256.pem"
alg = "RS256"

[[keys.signing]]
file = "$FIXTURES/signing-ES256.pem"
alg = "ES256"

[[keys.decryption]]
file = "$FIXTURES/decryption-rsa.pem"

[[keys.decryption]]
file = "$FIXTURES/decryption-ec.pem"

[[upstream]]
name = "idp"
issuer = "$ISSUER"
danger_allow_http = true
algorithms = ["RS256", "ES256"]
EOF
        local pipe
        for pipe in "${PIPES[@]}"; do client_section "$pipe" "${ALG[$pipe]}"; done
        if (($# > 0)); then client_section cached ES256 "$@"; fi
    } >"$file"
}

# An earlier build (LOAD_BIN) may have no exchange cache: the cached run only if the config passes.
CONFIG=$RUN/tokenbridge.toml
CACHED=
for cache_lines in "cache = true|cache_size = 20000" "cache = true"; do
    IFS='|' read -ra lines <<<"$cache_lines"
    write_config "$CONFIG" "${lines[@]}"
    if "$BIN" check --config "$CONFIG" >"$RUN/check.log" 2>&1; then
        CACHED=$cache_lines
        break
    fi
done
if [[ -z $CACHED ]]; then
    grep -qi 'cache' "$RUN/check.log" || die "the config is refused: $(cat "$RUN/check.log")"
    note "this build refuses 'cache' in a client (no exchange cache yet): the cached run is skipped"
    write_config "$CONFIG"
    "$BIN" check --config "$CONFIG" >"$RUN/check.log" 2>&1 ||
        die "the config is refused: $(cat "$RUN/check.log")"
fi

# ---------------------------------------------------------------------------------------------
# The server, as in production: default log level, audit lines on, stdout to a file.

note "starting tokenbridge (log: $OUT/server.log)"
"$BIN" serve --config "$CONFIG" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 150); do
    PORT=$(sed -n 's/.*tokenbridge is listening.*port=\([0-9]*\).*/\1/p' "$OUT/server.log" | head -n1)
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "tokenbridge exited: $(cat "$OUT/server.log")"
    sleep 0.2
done
[[ -n $PORT ]] || die "tokenbridge logged no listening port within 30 s"
URL=http://127.0.0.1:$PORT
for _ in $(seq 150); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && break
    sleep 0.2
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] ||
    die "/readyz is not 200 after 30 s: $(curl -s "$URL/readyz")"

auth_of() { printf 'Basic %s' "$(printf %s "$1:$SECRET" | base64 -w0)"; }

check_exchange() { # CLIENT TOKEN_FILE
    local body status
    body=$(mktemp -p "$RUN")
    status=$(curl -s -o "$body" -w '%{http_code}' -u "$1:$SECRET" "$URL/exchange" \
        -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
        -d subject_token_type=urn:ietf:params:oauth:token-type:id_token \
        --data-urlencode "subject_token@$2")
    [[ $status == 200 ]] || die "client $1: /exchange answered $status: $(cat "$body")"
}

cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$SERVER_PID/stat"; }
status_kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$SERVER_PID/status"; }

R_requests=0 R_duration_us=0 R_p50_us=0 R_p99_us=0 R_p999_us=0 R_non200=0 R_socket_errors=0
# Runs wrk; sets R_requests, R_duration_us, R_p50_us, … from the script's RESULT line.
run_wrk() { # CLIENT TOKEN_FILE THREADS CONNECTIONS SECONDS [cycle]
    local output
    output=$(TB_AUTH=$(auth_of "$1") TB_TOKENS=$2 TB_THREADS=$3 TB_CYCLE=${6:+1} \
        "${WRK[@]}" -t"$3" -c"$4" -d"$5"s --timeout 10s -s "$LUA" "$URL/exchange" 2>"$RUN/wrk.err") ||
        die "wrk failed: $(cat "$RUN/wrk.err")"
    local line
    line=$(grep '^RESULT ' <<<"$output") || die "no RESULT from wrk: $output $(cat "$RUN/wrk.err")"
    local pair
    for pair in ${line#RESULT }; do
        printf -v "R_${pair%%=*}" '%s' "${pair#*=}"
    done
    if [[ -s $RUN/wrk.err ]]; then head -n3 "$RUN/wrk.err" >&2; fi
}

calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------------------------------------
# Load.

declare -A RPS RPS_MIN RPS_MAX P50 P99 P999 CPU HWM ERRS LP50 LP99 REPS_RPS
TOTAL_ERRORS=0
for pipe in "${PIPES[@]}"; do
    check_exchange "$pipe" "$RUN/tokens/${TOKEN[$pipe]}"
done
for pipe in "${PIPES[@]}"; do
    tokens=$RUN/tokens/${TOKEN[$pipe]}
    note "($pipe) ${NAME[$pipe]}: warm-up ${WARMUP}s, then $REPS × ${SECONDS_PER_REP}s"
    run_wrk "$pipe" "$tokens" 2 "$CONNECTIONS" "$WARMUP"
    rps=() p50=() p99=() p999=() cpu=() errors=0
    for _ in $(seq "$REPS"); do
        before=$(cpu_ticks)
        run_wrk "$pipe" "$tokens" 2 "$CONNECTIONS" "$SECONDS_PER_REP"
        after=$(cpu_ticks)
        rps+=("$(calc "$R_requests / ($R_duration_us / 1e6)")")
        p50+=("$R_p50_us") p99+=("$R_p99_us") p999+=("$R_p999_us")
        cpu+=("$(calc "($after - $before) * 1e6 / $CLK_TCK / $R_requests")")
        errors=$((errors + R_non200 + R_socket_errors))
        echo "   rep: ${rps[-1]} req/s, p50 ${R_p50_us} µs, p99 ${R_p99_us} µs, CPU ${cpu[-1]} µs/exchange, errors $((R_non200 + R_socket_errors))" >&2
    done
    RPS[$pipe]=$(median "${rps[@]}")
    RPS_MIN[$pipe]=$(printf '%s\n' "${rps[@]}" | sort -g | head -n1)
    RPS_MAX[$pipe]=$(printf '%s\n' "${rps[@]}" | sort -g | tail -n1)
    REPS_RPS[$pipe]=$(
        IFS=,
        echo "${rps[*]}"
    )
    P50[$pipe]=$(median "${p50[@]}") P99[$pipe]=$(median "${p99[@]}") P999[$pipe]=$(median "${p999[@]}")
    CPU[$pipe]=$(median "${cpu[@]}")
    HWM[$pipe]=$(status_kb VmHWM)
    ERRS[$pipe]=$errors
    TOTAL_ERRORS=$((TOTAL_ERRORS + errors))
done

for pipe in "${PIPES[@]}"; do
    note "($pipe) light load: 2 connections, 1 thread, ${LIGHT_SECONDS}s"
    run_wrk "$pipe" "$RUN/tokens/${TOKEN[$pipe]}" 1 2 "$LIGHT_SECONDS"
    LP50[$pipe]=$R_p50_us LP99[$pipe]=$R_p99_us
    ERRS[$pipe]=$((ERRS[$pipe] + R_non200 + R_socket_errors))
    TOTAL_ERRORS=$((TOTAL_ERRORS + R_non200 + R_socket_errors))
done

CACHE_JSON=null
if [[ -n $CACHED ]]; then
    tokens=$RUN/tokens/jws-rs256.jwt
    check_exchange cached "$tokens"
    note "(cached) JWS RS256 → ES256 with '${CACHED//|/, }', one token: warm-up ${WARMUP}s, then $REPS × ${SECONDS_PER_REP}s"
    run_wrk cached "$tokens" 2 "$CONNECTIONS" "$WARMUP"
    rps=() p50=() p99=() p999=() cpu=() errors=0
    for _ in $(seq "$REPS"); do
        before=$(cpu_ticks)
        run_wrk cached "$tokens" 2 "$CONNECTIONS" "$SECONDS_PER_REP"
        after=$(cpu_ticks)
        rps+=("$(calc "$R_requests / ($R_duration_us / 1e6)")")
        p50+=("$R_p50_us") p99+=("$R_p99_us") p999+=("$R_p999_us")
        cpu+=("$(calc "($after - $before) * 1e6 / $CLK_TCK / $R_requests")")
        errors=$((errors + R_non200 + R_socket_errors))
        echo "   rep: ${rps[-1]} req/s, p50 ${R_p50_us} µs, p99 ${R_p99_us} µs, CPU ${cpu[-1]} µs/exchange" >&2
    done
    c_rps=$(median "${rps[@]}")
    c_min=$(printf '%s\n' "${rps[@]}" | sort -g | head -n1)
    c_max=$(printf '%s\n' "${rps[@]}" | sort -g | tail -n1)
    c_p50=$(median "${p50[@]}") c_p99=$(median "${p99[@]}") c_p999=$(median "${p999[@]}")
    c_cpu=$(median "${cpu[@]}")
    c_rss=$(status_kb VmRSS) c_hwm=$(status_kb VmHWM)

    note "(cached) filling the cache: $DISTINCT distinct tokens, each sent once"
    rss_before_fill=$(status_kb VmRSS)
    run_wrk cached "$RUN/tokens/distinct-rs256.txt" 2 "$CONNECTIONS" 120 cycle
    fill_requests=$R_requests fill_errors=$((R_non200 + R_socket_errors))
    ((fill_requests >= DISTINCT)) || die "the cache fill got only $fill_requests answers of $DISTINCT"
    errors=$((errors + fill_errors))
    TOTAL_ERRORS=$((TOTAL_ERRORS + errors))
    fill_rss=$(status_kb VmRSS) fill_hwm=$(status_kb VmHWM)
    CACHE_JSON=$(
        cat <<EOF
{"config": "${CACHED//|/, }", "rps": $c_rps, "rps_min": $c_min, "rps_max": $c_max,
   "p50_us": $c_p50, "p99_us": $c_p99, "p999_us": $c_p999, "cpu_us": $c_cpu,
   "rss_kb": $c_rss, "hwm_kb": $c_hwm, "errors": $errors,
   "fill_tokens": $DISTINCT, "fill_answers": $fill_requests, "fill_errors": $fill_errors,
   "rss_before_fill_kb": $rss_before_fill, "rss_after_fill_kb": $fill_rss, "hwm_after_fill_kb": $fill_hwm}
EOF
    )
fi

note "openssl speed (after)"
read_rates AFTER
for op in rsa_priv rsa_verify es_sign es_verify ecdh; do
    RATE[$op]=$(calc "(${BEFORE[$op]} + ${AFTER[$op]}) / 2")
done

# ---------------------------------------------------------------------------------------------
# Report.

DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NPROC=$(nproc)
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
round() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
per_op_us() { calc "2e6 / ${RATE[$1]}"; } # one core's time for one operation

declare -A CEIL FLOOR
for pipe in "${PIPES[@]}"; do
    sum_inv=0 floor=0
    for op in ${OPS[$pipe]}; do
        sum_inv=$(calc "$sum_inv + 1 / ${RATE[$op]}")
        floor=$(calc "$floor + $(per_op_us "$op")")
    done
    CEIL[$pipe]=$(calc "1 / $sum_inv")
    FLOOR[$pipe]=$floor
done

{
    echo
    echo "### HTTP load benchmark, $DATE"
    echo
    echo "Machine: $NPROC CPUs, $CPU_MODEL. wrk -t2 -c$CONNECTIONS (scheduling class $WRK_CLASS) on the same cores, tokenbridge with"
    echo "workers = 2; $REPS × ${SECONDS_PER_REP}s per pipeline after a ${WARMUP}s warm-up, medians (min–max of requests/s)."
    echo "Crypto per operation on one core (µs), from \`openssl speed -multi 2\` before / after the load (each the median of $SPEED_RUNS runs), mean used:"
    printf 'RSA-2048 private %s / %s, RSA verify %s / %s, ES256 sign %s / %s, ES256 verify %s / %s, ECDH P-256 %s / %s.\n' \
        "$(round "$(calc "2e6 / ${BEFORE[rsa_priv]}")")" "$(round "$(calc "2e6 / ${AFTER[rsa_priv]}")")" \
        "$(calc "2e6 / ${BEFORE[rsa_verify]}" | xargs printf '%.1f')" "$(calc "2e6 / ${AFTER[rsa_verify]}" | xargs printf '%.1f')" \
        "$(calc "2e6 / ${BEFORE[es_sign]}" | xargs printf '%.1f')" "$(calc "2e6 / ${AFTER[es_sign]}" | xargs printf '%.1f')" \
        "$(calc "2e6 / ${BEFORE[es_verify]}" | xargs printf '%.1f')" "$(calc "2e6 / ${AFTER[es_verify]}" | xargs printf '%.1f')" \
        "$(calc "2e6 / ${BEFORE[ecdh]}" | xargs printf '%.1f')" "$(calc "2e6 / ${AFTER[ecdh]}" | xargs printf '%.1f')"
    echo
    echo "| pipeline | req/s | 2-core ceiling | % of ceiling | p50 / p99 / p99.9 ms | CPU µs per exchange | crypto floor µs | CPU ÷ floor | peak RSS MB | 2 conns p50 / p99 ms |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    for pipe in "${PIPES[@]}"; do
        mark=
        ((ERRS[$pipe] == 0)) || mark=" ⚠ ${ERRS[$pipe]} errors"
        printf '| (%s) %s%s | %s (%s–%s) | %s | %s %% | %s / %s / %s | %s | %s | %s | %s | %s / %s |\n' \
            "$pipe" "${NAME[$pipe]}" "$mark" \
            "$(round "${RPS[$pipe]}")" "$(round "${RPS_MIN[$pipe]}")" "$(round "${RPS_MAX[$pipe]}")" \
            "$(round "${CEIL[$pipe]}")" "$(round "$(calc "100 * ${RPS[$pipe]} / ${CEIL[$pipe]}")")" \
            "$(ms "${P50[$pipe]}")" "$(ms "${P99[$pipe]}")" "$(ms "${P999[$pipe]}")" \
            "$(round "${CPU[$pipe]}")" "$(round "${FLOOR[$pipe]}")" \
            "$(calc "${CPU[$pipe]} / ${FLOOR[$pipe]}" | xargs printf '%.2f')" \
            "$(calc "${HWM[$pipe]} / 1024" | xargs printf '%.1f')" \
            "$(ms "${LP50[$pipe]}")" "$(ms "${LP99[$pipe]}")"
    done
    echo
    if [[ -n $CACHED ]]; then
        # shellcheck disable=SC2016 # the backquotes are markdown
        printf 'Cached (JWS RS256 → ES256, `%s`, the same token every request, %s connections): %s req/s (%s–%s), p50 / p99 / p99.9 %s / %s / %s ms, CPU %s µs per exchange, RSS %.1f MB (peak so far %.1f MB). After %s distinct tokens (%s answers, %s errors): RSS %.1f MB (%.1f MB before), peak %.1f MB.\n' \
            "${CACHED//|/, }" "$CONNECTIONS" "$(round "$c_rps")" "$(round "$c_min")" "$(round "$c_max")" \
            "$(ms "$c_p50")" "$(ms "$c_p99")" "$(ms "$c_p999")" "$(round "$c_cpu")" \
            "$(calc "$c_rss / 1024")" "$(calc "$c_hwm / 1024")" "$DISTINCT" "$fill_requests" "$fill_errors" \
            "$(calc "$fill_rss / 1024")" "$(calc "$rss_before_fill / 1024")" "$(calc "$fill_hwm / 1024")"
    else
        echo "Cached: skipped (this build refuses \`cache = true\` in a client)."
    fi
    echo
} | tee "$OUT/table.md"

# Machine-readable, for benches/chart.py.
{
    printf '{\n  "date": "%s",\n  "machine": {"nproc": %s, "cpu": "%s"},\n' "$DATE" "$NPROC" "${CPU_MODEL//\"/}"
    printf '  "connections": %s, "reps": %s, "seconds_per_rep": %s, "wrk_class": "%s",\n' "$CONNECTIONS" "$REPS" "$SECONDS_PER_REP" "$WRK_CLASS"
    for which in BEFORE AFTER RATE; do
        declare -n rates=$which
        printf '  "openssl_%s": {' "${which,,}"
        sep=
        for op in rsa_priv rsa_verify es_sign es_verify ecdh; do
            printf '%s"%s": %s' "$sep" "$op" "${rates[$op]}"
            sep=", "
        done
        printf '},\n'
        unset -n rates
    done
    printf '  "pipelines": [\n'
    sep=
    for pipe in "${PIPES[@]}"; do
        printf '%s    {"id": "%s", "name": "%s", "rps": %s, "rps_min": %s, "rps_max": %s, "rps_reps": [%s], "ceiling": %s, "p50_us": %s, "p99_us": %s, "p999_us": %s, "cpu_us": %s, "floor_us": %s, "hwm_kb": %s, "light_p50_us": %s, "light_p99_us": %s, "errors": %s}' \
            "$sep" "$pipe" "${NAME[$pipe]}" "${RPS[$pipe]}" "${RPS_MIN[$pipe]}" "${RPS_MAX[$pipe]}" "${REPS_RPS[$pipe]}" \
            "${CEIL[$pipe]}" "${P50[$pipe]}" "${P99[$pipe]}" "${P999[$pipe]}" "${CPU[$pipe]}" "${FLOOR[$pipe]}" \
            "${HWM[$pipe]}" "${LP50[$pipe]}" "${LP99[$pipe]}" "${ERRS[$pipe]}"
        sep=$',\n'
    done
    printf '\n  ],\n  "cached": %s\n}\n' "$CACHE_JSON"
} >"$OUT/results.json"
note "results: $OUT/results.json, table: $OUT/table.md, server log: $OUT/server.log"

for pipe in "${PIPES[@]}"; do
    spread=$(calc "${RPS_MAX[$pipe]} / ${RPS_MIN[$pipe]}")
    if awk -v s="$spread" 'BEGIN { exit !(s > 1.15) }'; then
        note "($pipe): the repetitions differ by more than 15 % ($spread×): something else may have used the CPU"
    fi
done
if ((TOTAL_ERRORS > 0)); then
    die "$TOTAL_ERRORS requests failed (non-200 or socket errors): this run's numbers are not valid"
fi
