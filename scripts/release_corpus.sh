#!/usr/bin/env bash
# From a stopped TuneBench campaign to the files the repository keeps: the Parquet exports, the
# datasheet, the evaluation tables (held out by family and by model size), the adaptive-probing
# benchmark, and the predictor bundle `tuneahead check` ships with.
#
#   pkill -INT -f "tuneahead campaign run"       # first: stop the campaign (finished runs are kept)
#   scripts/release_corpus.sh bench/pilot [--no-bundle]
#
# Every step reads only the campaign folder and writes next to it (the bundle goes to
# src/tuneahead/assets/predictor). Takes about 10-15 minutes on 2 cores for a few hundred runs.
set -euo pipefail

DIR=${1:?usage: scripts/release_corpus.sh CAMPAIGN_DIR [--no-bundle]}
BUNDLE=yes
[[ "${2:-}" == "--no-bundle" ]] && BUNDLE=no
BIN=${VENV:-.venv}/bin
SPEC="$DIR/campaign.yaml"
RUNS="$DIR/runs.parquet"

if pgrep -f "tuneahead campaign run $SPEC" >/dev/null; then
  echo "the campaign in $DIR is still running; stop it first (pkill -INT -f \"tuneahead campaign run\")" >&2
  exit 1
fi

echo "== store: fold the write-ahead log into $DIR/runs.db"
"$BIN/python" - "$DIR/runs.db" <<'EOF'
import sqlite3, sys
with sqlite3.connect(sys.argv[1]) as db:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
EOF

echo "== export and datasheet"
"$BIN/tuneahead" campaign export "$SPEC" --out "$RUNS"
"$BIN/tuneahead" campaign datasheet "$RUNS" --out "$DIR/DATASHEET.md"
rm -rf "$DIR/work"

echo "== evaluation, held out by task family and by model size"
mkdir -p "$DIR/evaluation"
"$BIN/tuneahead" evaluate --runs "$RUNS" --split-by family --out "$DIR/evaluation/by_family"
"$BIN/tuneahead" evaluate --runs "$RUNS" --split-by model_size --out "$DIR/evaluation/by_model_size"

echo "== adaptive vs fixed probing"
"$BIN/python" benchmarks/bench_adaptive.py --runs "$RUNS" --json "$DIR/evaluation/adaptive.json"

if [[ $BUNDLE == yes ]]; then
  echo "== predictor bundle"
  "$BIN/python" scripts/build_predictor_bundle.py --runs "$RUNS" --out src/tuneahead/assets/predictor
fi
echo "done: $DIR"
