#!/usr/bin/env bash
# Prepare the GPU benchmark: run HERE, on a machine with internet, from the repository root.
#
#     bash benchmarks/prepare-gpu.sh
#
# It fills two ignored folders to copy to the GPU machine with the working tree (it has no
# internet, and has JAX, PyTorch, NumPy, scikit-learn, pandas, h5py, ml-dtypes, absl-py, rich
# and packaging, but no Keras):
#
#   .whl/       Keras (the version pinned in requirements.txt) and the few packages Keras needs
#               that the GPU machine lacks (namex, optree, typing_extensions), as wheels for
#               CPython 3.12 on manylinux x86_64; benchmarks/run-gpu.sh installs them there.
#   .gpu-data/  mnist.npz, a copy of the offline MNIST file ($MNIST_SRC, default $MNIST_NPZ,
#               then ../shared/data/mnist-partial.npz beside the checkout). Never commit it.
#
# Then run benchmarks/run-gpu.sh on the GPU machine (its header says how).
#
# Settings (environment variables):
#   PY_VERSION=3.12      the target Python; e.g. PY_VERSION=3.11 WHEEL_DIR=.whl-cp311 for a
#                        local simulation on this machine's Python 3.11
#   WHEEL_DIR=.whl       where the wheels go (emptied of older wheels first)
#   MNIST_SRC=FILE       the MNIST file to copy
set -euo pipefail
cd "$(dirname "$0")/.."

PY_VERSION=${PY_VERSION:-3.12}
WHEEL_DIR=${WHEEL_DIR:-.whl}
MNIST_SRC=${MNIST_SRC:-${MNIST_NPZ:-../shared/data/mnist-partial.npz}}
DATA_DIR=.gpu-data

# Keras' own pin comes from requirements.txt, so the GPU run uses the tutorial's Keras.
KERAS_PIN=$(grep -E '^keras==' requirements.txt || true)
if [[ -z "$KERAS_PIN" ]]; then
    echo "prepare-gpu: no 'keras==VERSION' line in requirements.txt" >&2
    exit 1
fi
# What Keras requires beyond the GPU machine's packages (the versions this project's .venv runs).
EXTRA_PINS=(namex==0.1.0 optree==0.20.0 typing_extensions==4.16.0)
# Installed on the GPU machine already; anything else Keras requires must be carried.
ON_MACHINE=" absl-py numpy rich h5py ml-dtypes packaging "

mkdir -p "$WHEEL_DIR" "$DATA_DIR"
rm -f "$WHEEL_DIR"/*.whl
python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version "$PY_VERSION" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$WHEEL_DIR" "$KERAS_PIN" "${EXTRA_PINS[@]}"

# A Keras upgrade may add a requirement: stop here rather than fail on the GPU machine.
normalize() { sed -E 's/[_.]+/-/g' | tr '[:upper:]' '[:lower:]'; }
carried=" $(printf '%s\n' "${EXTRA_PINS[@]%%==*}" | normalize | tr '\n' ' ')"
missing=()
for name in $(unzip -p "$WHEEL_DIR"/keras-*.whl '*/METADATA' | grep '^Requires-Dist:' \
        | grep -v 'extra ==' | sed -E 's/^Requires-Dist: *([A-Za-z0-9_.-]+).*/\1/' | normalize); do
    [[ "$carried$ON_MACHINE" == *" $name "* ]] || missing+=("$name")
done
if (( ${#missing[@]} )); then
    echo "prepare-gpu: Keras requires ${missing[*]}, neither carried nor on the GPU machine;" \
        "add it to EXTRA_PINS in $0" >&2
    exit 1
fi

if [[ ! -f "$MNIST_SRC" ]]; then
    echo "prepare-gpu: MNIST file not found: $MNIST_SRC (set MNIST_SRC)" >&2
    exit 1
fi
install -m 0644 "$MNIST_SRC" "$DATA_DIR/mnist.npz"

echo "prepare-gpu: wheels in $WHEEL_DIR/, MNIST in $DATA_DIR/mnist.npz:"
ls -l "$WHEEL_DIR" "$DATA_DIR"
du -ch "$WHEEL_DIR" "$DATA_DIR" | tail -1
