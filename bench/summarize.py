#!/usr/bin/env python3
"""Turns bench/run.sh's results.csv into the table (stdout), summary.csv (medians) and
throughput.png (gnuplot). Usage: summarize.py RESULTS.csv OUTDIR --sleep-ms MS --big-state B
--plot 0|1 --machine TEXT"""
import argparse, csv, os, shutil, statistics, subprocess, time
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("csv"); ap.add_argument("out")
ap.add_argument("--sleep-ms", type=float, default=1000)
ap.add_argument("--big-state", type=int, default=1 << 30)
ap.add_argument("--plot", default="1"); ap.add_argument("--machine", default="")
a = ap.parse_args()

rows = list(csv.DictReader(open(a.csv)))
groups = defaultdict(list)
for r in rows:
    groups[(r["scenario"], r["kind"], int(r["slots"]), int(r["state_bytes"]))].append(r)

def med(key, field):
    vals = [float(r[field]) for r in groups.get(key, []) if r[field] not in ("", None)]
    return statistics.median(vals) if vals else None

def fmt(v, p=0):
    return "n/a" if v is None else f"{v:,.{p}f}"

def ratio(x, y):
    return None if x is None or y is None or y == 0 else x / y

def mib(kib):
    return None if kib is None else kib / 1024.0

fields = ["throughput", "p50_ms", "p99_ms", "cpu_us_per_task", "rss_kib", "hwm_kib", "threads",
          "seconds", "idle_cpu_percent"]
summary = []
for key in sorted(groups):
    s = dict(zip(["scenario", "kind", "slots", "state_bytes"], key))
    s["repeats"] = len(groups[key])
    s["failed"] = sum(int(r["failed"] or 0) for r in groups[key])
    for f in fields:
        s[f] = med(key, f)
    summary.append(s)
with open(os.path.join(a.out, "summary.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(summary[0].keys()) if summary else ["scenario"])
    w.writeheader()
    for s in summary:
        w.writerow({k: ("" if v is None else (f"{v:.3f}" if isinstance(v, float) else v)) for k, v in s.items()})

out = []
P = out.append
reps = max((len(g) for g in groups.values()), default=0)
P(f"hatchet-caf slot-concurrency benchmark, {time.strftime('%Y-%m-%d %H:%M')}, machine: {a.machine}")
P(f"medians of {reps} run(s); throughput in runs/s (trigger to FINISHED), latency in ms, CPU in µs of worker CPU per task")
P("")
P("a. no-op tasks")
P(f"{'slots':>6} | {'ours':>8} {'ts':>8} {'raw':>8} | {'ours/ts':>7} {'ours/raw':>8} | {'p50/p99 ours':>14} {'p50/p99 ts':>14} {'p50/p99 raw':>14} | {'cpu ours':>8} {'cpu ts':>7} {'cpu raw':>7} | {'RSS MiB ours/ts/raw':>20}")
noop_slots = sorted({k[2] for k in groups if k[0] == "a_noop"})
plot_rows = []
for sl in noop_slots:
    k = lambda kind: ("a_noop", kind, sl, 1024)
    t = {kind: med(k(kind), "throughput") for kind in ("ours", "ts", "raw")}
    lat = {kind: f"{fmt(med(k(kind), 'p50_ms'), 1)}/{fmt(med(k(kind), 'p99_ms'), 1)}" for kind in t}
    cpu = {kind: med(k(kind), "cpu_us_per_task") for kind in t}
    rss = "/".join(fmt(mib(med(k(kind), "hwm_kib")), 0) for kind in t)
    P(f"{sl:>6} | {fmt(t['ours']):>8} {fmt(t['ts']):>8} {fmt(t['raw']):>8} | {fmt(ratio(t['ours'], t['ts']), 2):>7} {fmt(ratio(t['ours'], t['raw']), 2):>8} | {lat['ours']:>14} {lat['ts']:>14} {lat['raw']:>14} | {fmt(cpu['ours'], 1):>8} {fmt(cpu['ts'], 1):>7} {fmt(cpu['raw'], 1):>7} | {rss:>20}")
    plot_rows.append((sl, t["ours"], t["ts"], t["raw"]))
P("")
P(f"b. sleeping tasks ({a.sleep_ms:.0f} ms each); efficiency = throughput / (slots / duration)")
P(f"{'slots':>6} {'kind':>5} | {'runs/s':>8} {'efficiency':>10} | {'p50/p99 ms':>16} | {'threads':>7} {'peak RSS MiB':>12}")
eff = {}
for key in sorted(k for k in groups if k[0] == "b_sleep"):
    _, kind, sl, _ = key
    t = med(key, "throughput")
    e = ratio(t, sl / (a.sleep_ms / 1000.0))
    eff[(kind, sl)] = e
    P(f"{sl:>6} {kind:>5} | {fmt(t, 1):>8} {fmt(None if e is None else e * 100, 1) + ' %':>10} | {fmt(med(key, 'p50_ms'), 0) + '/' + fmt(med(key, 'p99_ms'), 0):>16} | {fmt(med(key, 'threads')):>7} {fmt(mib(med(key, 'hwm_kib'))):>12}")
P("")
P("c. lifespan state, our worker, 100 slots, no-op tasks")
small = ("c_state", "ours", 100, 1024); big = ("c_state", "ours", 100, a.big_state)
ts_, tb = med(small, "throughput"), med(big, "throughput")
state_ratio = ratio(tb, ts_)
P(f"  1 KiB: {fmt(ts_)} runs/s, peak RSS {fmt(mib(med(small, 'hwm_kib')))} MiB")
P(f"  {a.big_state / 2**20:,.0f} MiB: {fmt(tb)} runs/s, peak RSS {fmt(mib(med(big, 'hwm_kib')))} MiB")
big_minus_small = None
if med(big, "hwm_kib") is not None and med(small, "hwm_kib") is not None:
    big_minus_small = mib(med(big, "hwm_kib") - med(small, "hwm_kib"))
P(f"  ratio big/small {fmt(state_ratio, 3)}; RSS difference {fmt(big_minus_small)} MiB for a {a.big_state / 2**20:,.0f} MiB state (once = about 1x)")
P("")
P("d. idle worker")
idle = {}
for key in sorted(k for k in groups if k[0] == "d_idle"):
    idle[key[1]] = key
    P(f"  {key[1]:>4}, {key[2]:,} slots: CPU {fmt(med(key, 'idle_cpu_percent'), 2)} % of a core, RSS {fmt(mib(med(key, 'rss_kib')), 1)} MiB, {fmt(med(key, 'threads'))} threads")
P("")
P("targets")
def target(name, value, ok):
    P(f"  [{'met' if ok else 'MISSED' if ok is False else 'n/a'}] {name}: {value}")
def okf(v, cond):
    return None if v is None else cond(v)
k100 = lambda kind: med(("a_noop", kind, 100, 1024), "throughput")
r_ts = ratio(k100("ours"), k100("ts")); r_raw = ratio(k100("ours"), k100("raw"))
target("no-op throughput >= 5x TS at slots=100", fmt(r_ts, 2) + "x", okf(r_ts, lambda v: v >= 5))
target("no-op throughput >= 80 % of raw at slots=100", fmt(None if r_raw is None else r_raw * 100, 1) + " %", okf(r_raw, lambda v: v >= 0.8))
cpu100 = med(("a_noop", "ours", 100, 1024), "cpu_us_per_task")
target("worker CPU <= 30 us per no-op task (slots=100)", fmt(cpu100, 1) + " us", okf(cpu100, lambda v: v <= 30))
e1000 = eff.get(("ours", 1000))
target("sleeping tasks at 1,000 slots >= 90 % efficient", fmt(None if e1000 is None else e1000 * 100, 1) + " %", okf(e1000, lambda v: v >= 0.9))
e10k = eff.get(("ours", 10000))
P(f"  [info] sleeping tasks at 10,000 slots: {fmt(None if e10k is None else e10k * 100, 1)} %")
target(f"{a.big_state / 2**20:,.0f} MiB vs 1 KiB state throughput ratio >= 0.97", fmt(state_ratio, 3), okf(state_ratio, lambda v: v >= 0.97))
ik = idle.get("ours")
icpu = med(ik, "idle_cpu_percent") if ik else None
irss = mib(med(ik, "rss_kib")) if ik else None
target(f"idle CPU <= 1 % of a core ({ik[2] if ik else '?'} slots)", fmt(icpu, 2) + " %", okf(icpu, lambda v: v <= 1))
target(f"RSS with {ik[2] if ik else '?'} idle slots <= 64 MiB", fmt(irss, 1) + " MiB", okf(irss, lambda v: v <= 64))
text = "\n".join(out) + "\n"
print(text, end="")
open(os.path.join(a.out, "table.txt"), "w").write(text)

if a.plot == "1" and plot_rows:
    dat = os.path.join(a.out, "throughput.dat")
    with open(dat, "w") as f:
        f.write("# slots ours ts raw (runs/s)\n")
        for sl, o, t, r in plot_rows:
            f.write(f"{sl} {o if o is not None else 'NaN'} {t if t is not None else 'NaN'} {r if r is not None else 'NaN'}\n")
    if shutil.which("gnuplot"):
        png = os.path.join(a.out, "throughput.png")
        script = f"""set terminal pngcairo size 900,560 noenhanced
set output '{png}'
set title 'no-op task throughput against slots (dev engine, {a.machine})'
set xlabel 'slots'
set ylabel 'runs/s (trigger to FINISHED)'
set logscale x
set xtics ({", ".join(f"'{sl}' {sl}" for sl, *_ in plot_rows)})
set yrange [0:*]
set grid
set key below horizontal
set xrange [{min(r[0] for r in plot_rows) / 2}:{max(r[0] for r in plot_rows) * 2}]
plot '{dat}' using 1:4 with linespoints lw 2 pt 9 title 'raw protocol (ceiling)', \\
     '' using 1:2 with linespoints lw 2 pt 7 title 'hatchet-caf (ours)', \\
     '' using 1:3 with linespoints lw 2 pt 5 title 'official TS SDK 1.33.2'
"""
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if r.returncode != 0:
            print("gnuplot failed:", r.stderr)
        else:
            print(f"plot: {png}")
    else:
        print("gnuplot is not installed: no plot (apt-get install gnuplot-nox)")
print(f"csv: {os.path.join(a.out, 'results.csv')}, {os.path.join(a.out, 'summary.csv')}")
