#!/usr/bin/env bash
# The evaluation files the repository keeps for a TuneBench export (one campaign's, or a pool of several):
# the datasheet; evaluation tables held out by family, by model size, trained on the smaller models and
# tested on the largest, and on a random split (the preprint's protocol, for comparison); learning curves
# against the number of training runs and families; the adaptive-probing benchmark; and optionally the
# predictor bundle `tuneahead check` ships with.
#
#   scripts/evaluate_corpus.sh bench/pilot/runs.parquet [--bundle NAME STORE...]
#
# With --bundle, NAME describes the corpus in the bundle and each STORE is a run store behind the export
# (for the recipe choices the predictor has seen). Everything is written next to the export; the bundle
# goes to src/tuneahead/assets/predictor. About an hour on 2 cores for a thousand runs.
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

echo "== evaluation on a random split (the preprint's protocol, for comparison)"
"$BIN/tuneahead" evaluate --runs "$RUNS" --split-by none --out "$DIR/evaluation/random_split"

LARGEST=$("$BIN/python" -c 'import sys, pandas as pd
t = pd.read_parquet(sys.argv[1])
print(t.loc[t["model_size"].idxmax(), "model"] if t["model"].nunique() > 1 else "")' "$RUNS")
if [[ -n "$LARGEST" ]]; then
  echo "== trained on the smaller models, tested on the largest ($LARGEST)"
  "$BIN/tuneahead" evaluate --runs "$RUNS" --split-by model --test-on "$LARGEST" --out "$DIR/evaluation/largest_model"
fi

echo "== learning curves (runs, families)"
"$BIN/python" benchmarks/learning_curves.py --runs "$RUNS" --out "$DIR/evaluation"

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
