#!/bin/sh
# Event storms (docs/events.md, "Storms"): an agent that connects to a denied
# address in a tight loop. Every connect is refused; the daemon answers
# `status` during the storm; and every event the kernel produced is in the
# log exactly once: logged one by one, counted in an aggregate entry, or
# counted in an events.lost entry (ring buffer full, or the session's rate
# limit). Three daemons: aggregation alone (and the aggregates' counts and
# times), the rate limit alone, then both with a small ring buffer and two
# sessions at once (an identical storm and a sweep over 20,000 ports).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

# storm_cfg TEXT: a daemon config file with TEXT
storm_cfg() {
	ag_tmpfile cfg
	printf '%s\n' "$1" >"$cfg"
}

# status_ms: asks the daemon for its status (5 s at most); prints the
# milliseconds it took, or "none"
status_ms() {
	t0=$(date +%s%N)
	if timeout 5 "$AG_BIN" status --socket "$AG_SOCK" --json >/dev/null 2>&1; then
		echo $((($(date +%s%N) - t0) / 1000000))
	else
		echo none
	fi
}

# counter NAME: a counter of `agentguard status --json`
counter() {
	"$AG_BIN" status --socket "$AG_SOCK" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$1"
}

# account LOG PRODUCED WINDOW_MS AGGREGATED_COUNTER: checks the log of one
# daemon against what the agents produced (connects + their exec and exit);
# prints TAP lines and "# ..." lines, then "buckets I A R L" last.
account() {
	python3 - "$@" <<'EOF'
import json, sys
from datetime import datetime, timezone

log, produced, window_ms, agg_counter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
KERNEL = ("network.connect", "process.exec", "process.exit")

def ns(t):  # RFC 3339 with nanoseconds -> ns since the epoch
    d = datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(d.timestamp()) * 10**9 + int(t[20:29])

def ok(name, good, why=""):
    print(("ok - " if good else "not ok - ") + name + ("" if good else ": " + why))

entries = [json.loads(l) for l in open(log)]
ind = agg = rate = ring = 0
nagg = 0
opener = {}       # identity -> time of the entry that opened its window
last_open = {}    # identity -> time of the previous opener
bad_times, bad_ident, bad_spacing = [], [], []
slack = (window_ms + 250) * 10**6
for e in entries:
    t = e["type"]
    if t == "events.lost":
        if e.get("reason") == "rate limit":
            rate += e["count"]
            if "session" not in e or "agent" not in e:
                bad_ident.append("events.lost for a rate limit without its session: seq %d" % e["seq"])
        else:
            ring += e["count"]
        continue
    if t not in KERNEL or e.get("agent", {}).get("name") not in ("net-main", "net-child"):
        continue
    ident = json.dumps([e["session"]["id"], e["process"]["pid"], t, e.get("decision"),
                        e.get("target"), e.get("rule")], sort_keys=True)
    a = e.get("aggregate")
    if not a:
        ind += 1
        if t == "network.connect" and e.get("decision") == "deny":
            now = ns(e["time"])
            if ident in last_open and window_ms and now - last_open[ident] < window_ms * 10**6:
                bad_spacing.append("seq %d opened a window %.1f ms after the previous one"
                                   % (e["seq"], (now - last_open[ident]) / 1e6))
            opener[ident] = last_open[ident] = now
        continue
    nagg += 1
    agg += a["count"]
    first, last, when = ns(a["first"]), ns(a["last"]), ns(e["time"])
    o = opener.get(ident)
    if a["count"] < 1 or not first <= last or when != last:
        bad_times.append("seq %d: count %d, first %s, last %s, time %s"
                         % (e["seq"], a["count"], a["first"], a["last"], e["time"]))
    elif o is None:
        bad_ident.append("seq %d: no individual entry of the same identity before it" % e["seq"])
    elif not (o < first and last - o <= slack):
        bad_times.append("seq %d: opened %d, first %d, last %d (ns)" % (e["seq"], o, first, last))
    opener.pop(ident, None)

print("# log: %d individual, %d aggregated in %d entries, %d rate limited, %d lost (ring)"
      % (ind, agg, nagg, rate, ring))
ok("produced = individual + aggregated + rate limited + lost", ind + agg + rate + ring == produced,
   "%d produced, %d + %d + %d + %d = %d" % (produced, ind, agg, rate, ring, ind + agg + rate + ring))
if agg_counter != "-":
    ok("aggregate entries hold what the kernel counted (status events_aggregated)",
       agg == int(agg_counter), "log %d, kernel %s" % (agg, agg_counter))
if window_ms and not rate and not ring:
    ok("aggregates: count >= 1, first <= last = time, within the window after their opener",
       not bad_times, "; ".join(bad_times[:3]))
    ok("aggregates: the identity of an individual entry before them", not bad_ident,
       "; ".join(bad_ident[:3]))
    ok("windows of one identity open at least %d ms apart" % window_ms, not bad_spacing,
       "; ".join(bad_spacing[:3]))
elif window_ms:
    # an opener may be lost or rate limited: check what does not need it
    bad = [b for b in bad_times if "count" in b]
    ok("aggregates: count >= 1, first <= last = time", not bad, "; ".join(bad[:3]))
    print("# %d aggregates whose opening entry was lost or rate limited"
          % sum(1 for b in bad_ident + bad_times if "count" not in b))
else:
    ok("no aggregate entry with aggregation off", nagg == 0, "%d aggregate entries" % nagg)
    ok("rate limit entries name their session", not bad_ident, "; ".join(bad_ident[:3]))
print("buckets %d %d %d %d" % (ind, agg, rate, ring))
EOF
}

# ---------------------------------------------------------------------------
# 1. Aggregation (200 ms windows), no rate limit, the default ring buffer.
storm_cfg 'aggregateWindowMs: 200'
ag_start_daemon tests/kernel/manifests "$cfg"
rm -f "$cfg"
N=300000
ag_run net-main "$AGPROBE" connect-storm 127.0.0.1 18081 $N >"$AG_TMP/storm1" &
sp=$!
sleep 0.4
ms=$(status_ms)
wait $sp
check "aggregation: every connect in the storm was denied" "ok=0 eperm=$N other=0" "$(cat "$AG_TMP/storm1")"
if [ "$ms" != none ] && [ "$ms" -lt 2000 ]; then
	ok "aggregation: status answered during the storm ($ms ms)"
else
	notok "aggregation: status answered during the storm" "took $ms ms"
fi
sleep 0.6	# every window closed and flushed
aggregated=$(counter events_aggregated)
ag_stop_daemon
"$AG_BIN" events --state-dir "$AG_STATE" >"$AG_TMP/ev1"
account "$AG_TMP/ev1" $((N + 2)) 200 "$aggregated" >"$AG_TMP/acc1"
grep -v '^buckets' "$AG_TMP/acc1"
set -- $(sed -n 's/^buckets //p' "$AG_TMP/acc1")
if [ "${2:-0}" -gt $((N * 9 / 10)) ] && [ "$(grep -c '"type":"network.connect"' "$AG_TMP/ev1")" -lt $((N / 100)) ]; then
	ok "aggregation: most of the storm never went through the ring buffer (${2:-0} of $N)"
else
	notok "aggregation: most of the storm never went through the ring buffer" \
		"${2:-0} aggregated, $(grep -c '"type":"network.connect"' "$AG_TMP/ev1") network.connect entries"
fi
"$AG_BIN" log verify --state-dir "$AG_STATE" >/dev/null
check "aggregation: log verify passes" "0" "$?"

# ---------------------------------------------------------------------------
# 2. The session rate limit (2,000/s, burst 500), aggregation off.
rm -rf "$AG_STATE"
storm_cfg 'aggregateWindowMs: 0
sessionEventRate: 2000
sessionEventBurst: 500'
ag_launch tests/kernel/manifests "$cfg"
rm -f "$cfg"
N=100000
t0=$(date +%s%N)
out=$(ag_run net-main "$AGPROBE" connect-storm 127.0.0.1 18081 $N)
t1=$(date +%s%N)
check "rate limit: every connect in the storm was denied" "ok=0 eperm=$N other=0" "$out"
sleep 0.3
ag_stop_daemon
"$AG_BIN" events --state-dir "$AG_STATE" >"$AG_TMP/ev2"
account "$AG_TMP/ev2" $((N + 2)) 0 - >"$AG_TMP/acc2"
grep -v '^buckets' "$AG_TMP/acc2"
set -- $(sed -n 's/^buckets //p' "$AG_TMP/acc2")
# at most the burst plus the rate over the run (and 20% for the clocks)
max=$((500 + 2000 * ((t1 - t0) / 1000000) / 1000 * 12 / 10 + 20))
if [ "${3:-0}" -gt 0 ] && [ "${1:-0}" -ge 500 ] && [ "${1:-0}" -le "$max" ]; then
	ok "rate limit: ${1:-0} events logged (burst 500, at most $max in $(((t1 - t0) / 1000000)) ms), ${3:-0} limited"
else
	notok "rate limit: the burst and the rate were kept" \
		"${1:-0} logged (expected 500..$max), ${3:-0} rate limited"
fi

# ---------------------------------------------------------------------------
# 3. Everything at once: a 64 KiB ring buffer, 100 ms windows, 100,000
#    events/s per session; two sessions storm together, one at a single
#    target, one sweeping 20,000 ports (distinct targets: no aggregation).
rm -rf "$AG_STATE"
storm_cfg 'ringBufferBytes: 65536
aggregateWindowMs: 100
sessionEventRate: 100000
sessionEventBurst: 10000'
ag_launch tests/kernel/manifests "$cfg"
rm -f "$cfg"
N=200000
ag_run net-main "$AGPROBE" connect-storm 127.0.0.1 18081 $N >"$AG_TMP/storm3a" &
sa=$!
ag_run net-main "$AGPROBE" connect-sweep 127.0.0.1 20000 $N 20000 >"$AG_TMP/storm3b" &
sb=$!
sleep 0.4
ms=$(status_ms)
wait $sa
wait $sb
check "both storms: every connect was denied" "ok=0 eperm=$N other=0 ok=0 eperm=$N other=0" \
	"$(cat "$AG_TMP/storm3a" "$AG_TMP/storm3b" | tr '\n' ' ' | sed 's/ $//')"
if [ "$ms" != none ] && [ "$ms" -lt 2000 ]; then
	ok "both storms: status answered during the storms ($ms ms)"
else
	notok "both storms: status answered during the storms" "took $ms ms"
fi
sleep 0.5
aggregated=$(counter events_aggregated)
ag_stop_daemon
"$AG_BIN" events --state-dir "$AG_STATE" >"$AG_TMP/ev3"
account "$AG_TMP/ev3" $((2 * N + 4)) 100 "$aggregated" >"$AG_TMP/acc3"
grep -v '^buckets' "$AG_TMP/acc3"
"$AG_BIN" log verify --state-dir "$AG_STATE" >/dev/null
check "both storms: log verify passes" "0" "$?"
