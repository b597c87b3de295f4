#!/usr/bin/env bash
# The evaluation files the repository keeps for a TuneBench export (one campaign's, or a pool of several):
# the datasheet, evaluation tables held out by family and by model size, the adaptive-probing benchmark,
# and optionally the predictor bundle `tuneahead check` ships with.
#
#   scripts/evaluate_corpus.sh bench/pilot/runs.parquet [--bundle NAME STORE...]
#
# With --bundle, NAME describes the corpus in the bundle and each STORE is a run store behind the export
# (for the recipe choices the predictor has seen). Everything is written next to the export; the bundle
# goes to src/tuneahead/assets/predictor. About 10-15 minutes on 2 cores for a few hundred runs.
set -euo pipefail

RUNS=${1:?usage: scripts/evaluate_corpus.sh RUNS.parquet [--bundle NAME STORE...]}
shift
DIR=$(dirname "$RUNS")
BIN=${VENV:-.venv}/bin

echo "== datasheet"
"$BIN/tuneahead" campaign datasheet "$RUNS" --out "$DIR/DATASHEET.md"

echo "== evaluation, held out by task family and by model size"
mkdir -p "$DIR/evaluation"
"$BIN/tuneahead" evaluate --runs "$RUNS" --split-by family --out "$DIR/evaluation/by_family"
"$BIN/tuneahead" evaluate --runs "$RUNS" --split-by model_size --out "$DIR/evaluation/by_model_size"

echo "== adaptive vs fixed probing"
"$BIN/python" benchmarks/bench_adaptive.py --runs "$RUNS" --json "$DIR/evaluation/adaptive.json"

if [[ "${1:-}" == "--bundle" ]]; then
  NAME=${2:?--bundle needs a corpus name and the run stores}
  shift 2
  STORES=()
  for store in "$@"; do STORES+=(--store "$store"); done
  echo "== predictor bundle"
  "$BIN/python" scripts/build_predictor_bundle.py --runs "$RUNS" --name "$NAME" "${STORES[@]}" \
    --out src/tuneahead/assets/predictor
fi
echo "done: $DIR"
