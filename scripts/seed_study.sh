#!/usr/bin/env bash
# Seed study: the same search under several seeds and both semantics, then the mean ± std of each
# number of the final table (random shared weight, ensemble, tuned, connections).
#
#   bash scripts/seed_study.sh OUT_DIR [SEEDS] [-- extra `wann search` options]
#
# Defaults: seeds 0..4, `--preset quick` (population 480, 300 generations), CPU backend, so every run
# is reproducible bit for bit. Each run goes to OUT_DIR/<semantics>-s<seed>/; a run that is already
# complete there is not run again. The summary goes to OUT_DIR/summary.json and is printed as a
# table. Needs python3 (standard library only) for the summary.
set -euo pipefail
out="${1:?usage: seed_study.sh OUT_DIR [SEEDS] [-- extra search options]}"
shift
seeds="${1:-0 1 2 3 4}"
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
extra=("$@")
cd "$(dirname "$0")/.."
# WANN_BIN runs a given build (e.g. a copy, so that rebuilding meanwhile changes nothing).
if [ -z "${WANN_BIN:-}" ]; then cargo build --release --quiet; fi
wann="${WANN_BIN:-target/release/wann}"
mkdir -p "$out"
for semantics in reference neat; do
  for seed in $seeds; do
    dir="$out/$semantics-s$seed"
    if [ -f "$dir/report.json" ]; then continue; fi
    rm -rf "$dir"
    echo "== $semantics seed $seed -> $dir"
    start=$(date +%s)
    "$wann" search --preset quick --backend cpu --semantics "$semantics" --seed "$seed" \
      --out "$dir" --quiet "${extra[@]}" > "$dir.stdout" 2>&1 || { cat "$dir.stdout"; exit 1; }
    echo "$(( $(date +%s) - start ))" > "$dir/wall_seconds"
    mv "$dir.stdout" "$dir/stdout.txt"
  done
done
python3 - "$out" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
rows = {}
for name in sorted(os.listdir(out)):
    rep = os.path.join(out, name, "report.json")
    if not os.path.isfile(rep):
        continue
    r = json.load(open(rep))
    semantics = name.rsplit("-s", 1)[0]
    wall = open(os.path.join(out, name, "wall_seconds")).read().strip()
    rows.setdefault(semantics, []).append({
        "run": name,
        "random_mean": r["random"]["accuracy"]["mean"],
        "random_std": r["random"]["accuracy"]["std"],
        "ensemble": r["ensemble"]["accuracy"],
        "tuned": r["tuned"]["best_accuracy"],
        "tuned_weight": r["tuned"]["best_weight"],
        "connections": r["network"]["enabled_connections"],
        "wall_seconds": int(wall),
    })
summary = {}
print(f"{'semantics':<10} {'runs':>4}  {'random shared w':>16}  {'ensemble':>16}  {'tuned':>16}  {'connections':>12}")
for semantics, runs in rows.items():
    def ms(key):
        v = [x[key] for x in runs]
        return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)
    s = {k: ms(k) for k in ["random_mean", "ensemble", "tuned", "connections", "wall_seconds"]}
    summary[semantics] = {"runs": runs, "mean_std": s}
    pct = lambda k: f"{100*s[k][0]:.2f} ± {100*s[k][1]:.2f}"
    print(f"{semantics:<10} {len(runs):>4}  {pct('random_mean'):>16}  {pct('ensemble'):>16}  {pct('tuned'):>16}  "
          f"{s['connections'][0]:>6.0f} ± {s['connections'][1]:.0f}")
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
PY
