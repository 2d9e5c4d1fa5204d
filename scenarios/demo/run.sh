#!/usr/bin/env bash
# `make demo`: the main job, end to end, on the embedded default.
#
# validate -> sipconf up (background) -> apply -> plan shows nothing -> explain calls
# -> plan an edited spec as markdown -> run the demo call-flow suite with reports
# -> stop everything -> print where the reports are (the last line: the report's index.html).
# It uses its own dev credentials and never the caller's LIVEKIT_* variables.
set -euo pipefail
cd "$(dirname "$0")/../.."

unset LIVEKIT_URL LIVEKIT_API_KEY LIVEKIT_API_SECRET
SIPCONF=${SIPCONF:-.venv/bin/sipconf}
SPEC=scenarios/demo/spec.yaml
REPORTS=${REPORTS:-reports/demo}

# Demo-only secrets for loopback trunks; real values come from your CI's secret store.
export DEMO_TWILIO_PASSWORD=demo-twilio-secret
export DEMO_TELNYX_PASSWORD=demo-telnyx-secret
export DEMO_BOARD_PIN=9876  # the PIN scenarios/demo/dtmf/pin.yaml dials

work=$(mktemp -d "${TMPDIR:-/tmp}/sipconf-demo.XXXXXX")
up_pid=""
cleanup() {
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
    kill -TERM "$up_pid" 2>/dev/null || true
    wait "$up_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. validate the demo spec"
$SIPCONF validate "$SPEC"

step "2. sipconf up: embedded control plane and SIP bridge on free loopback ports"
$SIPCONF up --http 127.0.0.1:0 --sip 127.0.0.1:0 --state "$work/state.db" >"$work/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 1 100); do
  grep -qx ready "$work/up.log" 2>/dev/null && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$work/up.log"; exit 1; }
  sleep 0.1
done
grep -qx ready "$work/up.log" || { echo "sipconf up did not become ready"; exit 1; }
grep -v -e '^export ' -e 'SECRET' "$work/up.log"
eval "$(grep '^export ' "$work/up.log")"
# `sip: udp 127.0.0.1:PORT tcp 127.0.0.1:PORT (...)`: where the suite sends its calls.
SIP_ADDR=$(sed -n 's/^sip: udp \([0-9.]*:[0-9]*\) .*/\1/p' "$work/up.log" | head -n 1)
[ -n "$SIP_ADDR" ] || { echo "sipconf up printed no SIP address"; exit 1; }
export SIPCONF_SIP=$SIP_ADDR

step "3. apply the demo spec"
$SIPCONF apply "$SPEC" --auto-approve

step "4. plan again: nothing to change"
$SIPCONF plan "$SPEC" --detailed-exitcode

step "5. explain: a routed call (Twilio DID, allow-listed source, X-Customer-Tier header)"
$SIPCONF explain "$SPEC" --from +14085551234 --to +15105550100 --src-ip 127.0.0.11 \
  --header 'X-Customer-Tier: gold'

step "6. explain: a PIN room (Telnyx, digest auth, PIN entered over DTMF)"
$SIPCONF explain "$SPEC" --from +14085550042 --to +14155550100 --src-ip 127.0.0.12 \
  --auth-env acme-telnyx:DEMO_TELNYX_PASSWORD --pin 4321

step "7. explain: a rejected call (a number no trunk owns)"
$SIPCONF explain "$SPEC" --from +14085551234 --to +15105550199 --src-ip 127.0.0.11 || true

step "8. plan an edited spec, as the markdown a PR comment would show"
sed -e 's/callee: {room_prefix: sales, randomize: false}/callee: {room_prefix: sales-line, randomize: false}/' \
    -e 's/^\( *\)- "+15105550150".*$/&\n\1- "+15105550151"/' "$SPEC" >"$work/spec.yaml"
plan_rc=0
$SIPCONF plan "$work/spec.yaml" --format markdown --detailed-exitcode || plan_rc=$?
[ "$plan_rc" -eq 2 ] || { echo "expected a plan with changes (exit 2), got exit $plan_rc"; exit 1; }

step "9. run the demo call-flow suite (SIPp against the bridge, results read through the API)"
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
suite_rc=0
$SIPCONF test scenarios/demo --report "$REPORTS" --junit "$REPORTS/junit.xml" --min-coverage 90 || suite_rc=$?

step "10. stop"
kill -TERM "$up_pid"; wait "$up_pid" 2>/dev/null || true; up_pid=""
echo "stopped"

step "11. reports"
echo "JUnit:    $REPORTS/junit.xml"
echo "Calls:    $REPORTS/calls/ (one page with the SIP ladder and one pcap per call)"
echo "Coverage: $REPORTS/coverage.txt"
echo "Open the report in a browser (it works from file://, no server needed):"
echo "$(cd "$REPORTS" && pwd)/index.html"
exit "$suite_rc"
