#!/usr/bin/env bash
# The device check (scripts/gpu_check.py) on a GPU machine whose Python has torch and transformers but not
# every TuneAhead dependency, and no package index to fetch them from.
#   scripts/gpu_check.sh fetch     # here, once: the missing dependencies as Python 3.12 wheels in .whl/
#   scripts/gpu_check.sh run OUT   # there, with .whl carried: install them, run the check, results in OUT/
set -euo pipefail
cd "$(dirname "$0")/.."
# What the GPU image lacks of TuneAhead's dependencies (its torch, transformers, peft, numpy, pandas,
# scipy, scikit-learn, pyarrow, typer, rich, pyyaml, jinja2, psutil and tokenizers are used as they are).
WHEELS=(pydantic==2.12.5 pydantic-core==2.41.5 annotated-types==0.7.0 typing-inspection==0.4.2
        lightgbm==4.6.0 shap==0.49.1 slicer==0.0.8 datasketch==1.6.5)
case "${1:-}" in
  fetch)
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      --platform any -d .whl "${WHEELS[@]}"
    du -sh .whl ;;
  run)
    out="${2:-out}"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="$PWD/src:/tmp/site" PYTHONUNBUFFERED=1
    python3 scripts/gpu_check.py --device cuda --out "$out" ;;
  *) echo "usage: $0 fetch | run OUT" >&2; exit 3 ;;
esac
