#!/usr/bin/env bash
# The GPU benchmark in one command, run from the repository root on the GPU machine.
#
# 1. Here (CPU machine, internet): `bash benchmarks/prepare-gpu.sh` fills the ignored folders
#    .whl/ (Keras and the few wheels it needs) and .gpu-data/ (mnist.npz).
# 2. On the GPU machine, with the working tree and the ignored .whl/ and .gpu-data/ copied
#    there (a job runner that collects files sets $OUT to its collection folder):
#        bash benchmarks/run-gpu.sh
#    For the PyTorch backend, a second call: `BACKEND=torch bash benchmarks/run-gpu.sh`.
# 3. What comes back, under $OUT: results-gpu.json (results-gpu-torch.json
#    for torch), the records of every stage in one JSON list; environment.txt (backend,
#    library and driver versions); run-gpu.log (everything printed). Copy the JSON to
#    benchmarks/ to commit it. Without $OUT the files go to $OUT_DIR (default bench-out/gpu/).
#
# Stages (each a separate `python -m helpers.bench` process, so each record's peak_rss_mb is
# that stage's own; each stage's file is written to the output folder as soon as it ends, so
# a run stopped at a time limit still returns the stages it finished):
#   main       every approach on MNIST (22,699 train / 10,000 test) and on the 4-class data
#   large      sklearn_svc + quasi_svm on MNIST at --output-dim 16384, then 32768 (the exact
#              SVC runs again in each, on the CPU, as the reference for agreement_with_svc)
# Every record carries backend, device (the GPU's model name, or "cpu"), versions and date
# (from the harness), and "stage" (added here).
#
# Settings (environment variables):
#   BACKEND=jax|torch     the Keras backend (default jax)
#   ALLOW_CPU=1           the CPU-test switch: run even when the backend sees no GPU (without
#                         it the script stops with exit code 3); the file name gets -cpu-test
#   N_TRAIN, N_TEST, EPOCHS   a small run (harness defaults when unset), e.g. 300, 200, 1
#   LARGE_DIMS="16384 32768"  the large stage's quasi_svm feature counts
#   LARGE_APPROACHES=sklearn_svc,quasi_svm   (quasi_svm alone skips the SVC; no agreement)
#   STAGES="main large"   the stages to run, e.g. STAGES=large in a second call
#   MNIST_NPZ             default .gpu-data/mnist.npz
#   PYTHON                default python3
#   WHEEL_DIR, SITE_DIR   default .whl and /tmp/site (wheels are installed only if WHEEL_DIR exists)
#
# CPU simulation (no GPU):
#   ALLOW_CPU=1 N_TRAIN=300 N_TEST=200 EPOCHS=1 LARGE_DIMS=512 bash benchmarks/run-gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "run-gpu: $*" >&2; exit 2; }

BACKEND=${BACKEND:-jax}
ALLOW_CPU=${ALLOW_CPU:-0}
PYTHON=${PYTHON:-python3}
WHEEL_DIR=${WHEEL_DIR:-.whl}
SITE_DIR=${SITE_DIR:-/tmp/site}
MNIST_NPZ=${MNIST_NPZ:-.gpu-data/mnist.npz}
LARGE_DIMS=${LARGE_DIMS:-16384 32768}
LARGE_APPROACHES=${LARGE_APPROACHES:-sklearn_svc,quasi_svm}
STAGES=${STAGES:-main large}

[[ "$BACKEND" == jax || "$BACKEND" == torch ]] \
    || fail "BACKEND must be jax or torch (the GPU machine has no TensorFlow). Received: BACKEND=$BACKEND"
[[ "$ALLOW_CPU" == 0 || "$ALLOW_CPU" == 1 ]] || fail "ALLOW_CPU must be 0 or 1. Received: ALLOW_CPU=$ALLOW_CPU"
size_args=()
for name in N_TRAIN N_TEST EPOCHS; do
    value=${!name:-}
    [[ -z "$value" ]] && continue
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || fail "$name must be a positive integer. Received: $name=$value"
    option=${name,,}
    size_args+=("--${option//_/-}" "$value")
done
for dim in $LARGE_DIMS; do
    [[ "$dim" =~ ^[1-9][0-9]*$ ]] || fail "LARGE_DIMS must hold positive integers. Received: LARGE_DIMS=$LARGE_DIMS"
done
for stage in $STAGES; do
    [[ "$stage" == main || "$stage" == large ]] || fail "STAGES may hold main and large. Received: STAGES=$STAGES"
done
[[ -f "$MNIST_NPZ" ]] || fail "MNIST file not found: $MNIST_NPZ (run benchmarks/prepare-gpu.sh, carry .gpu-data)"

OUT_DIR=${OUT:-${OUT_DIR:-bench-out/gpu}}
mkdir -p "$OUT_DIR"
name=results-gpu$([[ "$BACKEND" == jax ]] || echo "-$BACKEND")$([[ "$ALLOW_CPU" == 0 ]] || echo -cpu-test)
RESULTS="$OUT_DIR/$name.json"
# Everything printed from here on also goes to the log (stderr stays stderr).
exec > >(tee -a "$OUT_DIR/run-gpu.log") 2> >(tee -a "$OUT_DIR/run-gpu.log" >&2)

if [[ -d "$WHEEL_DIR" ]]; then
    echo "run-gpu: installing $(ls "$WHEEL_DIR"/*.whl | wc -l) wheels from $WHEEL_DIR into $SITE_DIR"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE_DIR" "$WHEEL_DIR"/*.whl
    export PYTHONPATH="$SITE_DIR${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND="$BACKEND" TF_CPP_MIN_LOG_LEVEL=2

# Does the backend see a GPU? Also records the environment beside the results.
ALLOW_CPU=$ALLOW_CPU ENV_FILE="$OUT_DIR/environment.txt" "$PYTHON" - <<'EOF'
import os
import subprocess
import sys

import keras

from helpers.bench import device_name
from helpers.notebook import versions

backend, device = keras.backend.backend(), device_name()
lines = [f"backend: {backend}", f"device: {device}", f"versions: {versions()}"]
if backend == "jax":
    import jax

    lines.append(jax.print_environment_info(return_string=True))
elif backend == "torch":
    import torch

    lines.append(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
    try:  # JAX's report above includes nvidia-smi already
        lines.append(subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30).stdout)
    except (OSError, subprocess.SubprocessError):
        lines.append("nvidia-smi: not available")
with open(os.environ["ENV_FILE"], "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"run-gpu: Keras {keras.__version__}, backend {backend}, device {device}")
if backend != os.environ["KERAS_BACKEND"]:
    sys.exit(f"run-gpu: Keras runs on {backend}, not on KERAS_BACKEND={os.environ['KERAS_BACKEND']}")
if device == "cpu" and os.environ["ALLOW_CPU"] != "1":
    print(
        f"run-gpu: the {backend} backend sees no GPU, so this would be a CPU benchmark. "
        "Check the CUDA install (environment.txt), or set ALLOW_CPU=1 for a CPU test.",
        file=sys.stderr,
    )
    sys.exit(3)
EOF

stage_files=()
run_stage() {  # run_stage NAME HARNESS-ARGS...
    local stage=$1 file="$OUT_DIR/stage-$1.json" start=$SECONDS
    shift
    echo "run-gpu: stage $stage: python -m helpers.bench $* ${size_args[*]}"
    "$PYTHON" -m helpers.bench --mnist-path "$MNIST_NPZ" "$@" "${size_args[@]}" --out "$file"
    echo "run-gpu: stage $stage took $((SECONDS - start)) s"
    stage_files+=("$stage=$file")
}

for stage in $STAGES; do
    if [[ "$stage" == main ]]; then
        run_stage main --datasets mnist,four_class
    else
        for dim in $LARGE_DIMS; do
            run_stage "large-$dim" --datasets mnist --approaches "$LARGE_APPROACHES" --output-dim "$dim"
        done
    fi
done

# One JSON list of every stage's records, each marked with its stage.
"$PYTHON" - "$RESULTS" "${stage_files[@]}" <<'EOF'
import json
import sys
from pathlib import Path

records = []
for item in sys.argv[2:]:
    stage, path = item.split("=", 1)
    records += [{**record, "stage": stage} for record in json.loads(Path(path).read_text())]
Path(sys.argv[1]).write_text(json.dumps(records, indent=2) + "\n")
for r in records:
    dim = (r.get("params") or {}).get("output_dim", "")
    print(
        f"{r['stage']:>12} {r['dataset']:>10} {r['approach']:>18} {dim!s:>6} {r['backend']}/{r['device']}: "
        f"fit {r['fit_seconds']:.2f} s, predict {r['predict_seconds']:.3f} s, acc {r['test_accuracy']:.4f}"
    )
EOF
rm -f "${stage_files[@]#*=}"
echo "run-gpu: wrote $RESULTS (${#stage_files[@]} stages)"
