#!/usr/bin/env bash
# From a stopped TuneBench campaign to the files the repository keeps: the Parquet exports, and (unless
# --export-only) the datasheet, the evaluation tables, the adaptive-probing benchmark and the predictor
# bundle `tuneahead check` ships with (scripts/evaluate_corpus.sh).
#
#   pkill -INT -f "tuneahead campaign run"       # first: stop the campaign (finished runs are kept)
#   scripts/release_corpus.sh bench/pilot [--no-bundle | --export-only]
#
# To release a pool of several campaigns, export each with --export-only, pool the exports
# (scripts/pool_exports.py) and run scripts/evaluate_corpus.sh on the pool.
set -euo pipefail

DIR=${1:?usage: scripts/release_corpus.sh CAMPAIGN_DIR [--no-bundle | --export-only]}
MODE=${2:-}
BIN=${VENV:-.venv}/bin
SPEC="$DIR/campaign.yaml"
RUNS="$DIR/runs.parquet"

if pgrep -f "tuneahead campaign run $SPEC" >/dev/null; then
  echo "the campaign in $DIR is still running; stop it first (pkill -INT -f \"tuneahead campaign run\")" >&2
  exit 1
fi

echo "== store: fold the write-ahead log into $DIR/runs.db"
"$BIN/python" - "$DIR/runs.db" <<'PY'
import sqlite3, sys
with sqlite3.connect(sys.argv[1]) as db:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
PY

echo "== export"
"$BIN/tuneahead" campaign export "$SPEC" --out "$RUNS"
rm -rf "$DIR/work"

case "$MODE" in
  --export-only) "$BIN/tuneahead" campaign datasheet "$RUNS" --out "$DIR/DATASHEET.md" ;;
  --no-bundle) scripts/evaluate_corpus.sh "$RUNS" ;;
  "") scripts/evaluate_corpus.sh "$RUNS" --bundle "$(basename "$DIR")" "$DIR/runs.db" ;;
  *) echo "unknown option $MODE" >&2; exit 2 ;;
esac
echo "released: $DIR"
