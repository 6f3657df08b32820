#!/usr/bin/env bash
# Classifier runtime and model bundles (glassbox-classify):
# 1. a Python venv at $GLASSBOX_ROOT/.venv with the exact packages of models/requirements.txt;
# 2. the ONNX Runtime shared library from the PyPI wheel onnxruntime==1.31.1, unpacked into
#    $GLASSBOX_ROOT/.runtime/onnxruntime/ (ORT_DYLIB_PATH, see scripts/env.d/40-models.sh);
#    with GLASSBOX_ORT_FLAVOUR=cuda, the CUDA build from onnxruntime-gpu==1.31.1 (CUDA 13,
#    cuDNN 9; the CUDA libraries themselves come from the host) into .runtime/onnxruntime-cuda/;
# 3. the model bundles under models/, built and verified by models/tools/build_bundles.py
#    (with GLASSBOX_ORT_FLAVOUR=cuda the prompt-injection encoder is built in float, as ONNX
#    Runtime's CUDA provider has no uint8 x int8 MatMulInteger; GLASSBOX_ENCODER_PRECISION
#    chooses explicitly).
# Idempotent: each step is skipped when its output is already there and verifies.
set -euo pipefail
ROOT="${GLASSBOX_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$ROOT"
VENV="$ROOT/.venv"
ORT_VERSION=1.31.1
case "${GLASSBOX_ORT_FLAVOUR:-cpu}" in
  cpu)
    ORT_PACKAGE=onnxruntime
    ORT_WHEEL=onnxruntime-$ORT_VERSION-cp312-cp312-manylinux_2_28_x86_64.whl
    ORT_WHEEL_SHA256=1f3dea47f2f0e5117c2404cea7d21fd253ae7836a3bf167a501cdfbb2600d536
    ORT_DIR="$ROOT/.runtime/onnxruntime"
    ;;
  cuda)
    ORT_PACKAGE=onnxruntime-gpu
    ORT_WHEEL=onnxruntime_gpu-$ORT_VERSION-cp312-cp312-manylinux_2_28_x86_64.whl
    ORT_WHEEL_SHA256=05d548956197b9d01f59b625de740e0d6be3593f874e241a12dc0362650ecdf7
    ORT_DIR="$ROOT/.runtime/onnxruntime-cuda"
    export GLASSBOX_ENCODER_PRECISION="${GLASSBOX_ENCODER_PRECISION:-float}"
    ;;
  *)
    echo "40-models: GLASSBOX_ORT_FLAVOUR=$GLASSBOX_ORT_FLAVOUR: expected cpu or cuda" >&2
    exit 1
    ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
stamp="$VENV/.glassbox-requirements.sha256"
want=$(sha256sum models/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r models/requirements.txt
  echo "$want" > "$stamp"
fi

if [ ! -f "$ORT_DIR/libonnxruntime.so.$ORT_VERSION" ]; then
  mkdir -p "$ROOT/.runtime/wheels" "$ORT_DIR"
  if [ ! -f "$ROOT/.runtime/wheels/$ORT_WHEEL" ]; then
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
      --python-version 3.12 --platform manylinux_2_28_x86_64 "$ORT_PACKAGE==$ORT_VERSION" \
      -d "$ROOT/.runtime/wheels"
  fi
  echo "$ORT_WHEEL_SHA256  $ROOT/.runtime/wheels/$ORT_WHEEL" | sha256sum -c --quiet - || {
    echo "40-models: $ORT_WHEEL does not have the pinned sha256; delete it and re-run" >&2
    exit 1
  }
  "$VENV/bin/python" - "$ROOT/.runtime/wheels/$ORT_WHEEL" "$ORT_DIR" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        # libonnxruntime.so.*, providers_shared and (onnxruntime-gpu) providers_cuda; not the
        # TensorRT provider, which needs TensorRT.
        if (name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime")
                and "tensorrt" not in base):
            with z.open(name) as src, open(os.path.join(out, base), "wb") as dst:
                dst.write(src.read())
PY
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/libonnxruntime.so"
fi

"$VENV/bin/python" models/tools/build_bundles.py
