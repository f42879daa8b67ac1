#!/usr/bin/env bash
# Issue 27 on a GPU machine, in one go: the Triton kernels' tests compiled on CUDA, then
# benchmarks/speed.py and benchmarks/device_choice.py with the kernels on (SKNRNN_TRITON=1).
# Logs go to benchmarks/results/ (or $RESULTS). Every ratio these scripts print is measured
# within the same run (cuDNN, the CPU), so no earlier log is the baseline.
#
#     bash benchmarks/gpu_check.sh            # everything (speed.py in full: T = 784 too)
#     QUICK=1 bash benchmarks/gpu_check.sh    # speed.py --quick (T = 784 skipped)
#     BASELINE=1 bash benchmarks/gpu_check.sh # also speed.py with the kernels off
set -u -o pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
RESULTS=${RESULTS:-benchmarks/results}
mkdir -p "$RESULTS"
status=0

$PY - <<'PY' || exit 1
import torch, triton
assert torch.cuda.is_available(), "no CUDA device: this script is for a GPU machine"
print(f"torch {torch.__version__}, triton {triton.__version__}, {torch.cuda.get_device_name(0)}")
PY

# (with CUDA the test file runs the kernels compiled, and a fit on CUDA with them on)
echo "== compiled kernel tests"
$PY -m pytest -q -p no:cacheprovider tests/test_triton_kernels.py 2>&1 \
    | tee "$RESULTS/pytest_0.4_triton_cuda.log" || status=1

speed_args=(--device cuda)
[ "${QUICK:-0}" = 1 ] && speed_args+=(--quick)
echo "== speed.py ${speed_args[*]}, kernels on"
SKNRNN_TRITON=1 $PY benchmarks/speed.py "${speed_args[@]}" 2>&1 \
    | tee "$RESULTS/speed_0.4_triton_cuda.log" || status=1
if [ "${BASELINE:-0}" = 1 ]; then
    echo "== speed.py ${speed_args[*]}, kernels off"
    SKNRNN_TRITON=0 $PY benchmarks/speed.py "${speed_args[@]}" 2>&1 \
        | tee "$RESULTS/speed_0.4_torch_cuda.log" || status=1
fi

echo "== device_choice.py, kernels on"
SKNRNN_TRITON=1 $PY benchmarks/device_choice.py 2>&1 \
    | tee "$RESULTS/device_choice_0.4_triton.log" || status=1
exit $status
