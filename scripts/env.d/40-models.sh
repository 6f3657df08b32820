# glassbox-classify: the ONNX Runtime library and the model bundles built by
# scripts/setup.d/40-models.sh.
# GLASSBOX_ORT_FLAVOUR=cuda: onnxruntime-gpu's library (set-up unpacks both flavours apart).
if [ "${GLASSBOX_ORT_FLAVOUR:-cpu}" = cuda ]; then
  export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$GLASSBOX_ROOT/.runtime/onnxruntime-cuda/libonnxruntime.so.1.31.1}"
  export GLASSBOX_ENCODER_PRECISION="${GLASSBOX_ENCODER_PRECISION:-float}"
else
  export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$GLASSBOX_ROOT/.runtime/onnxruntime/libonnxruntime.so.1.31.1}"
fi
export GLASSBOX_MODELS="${GLASSBOX_MODELS:-$GLASSBOX_ROOT/models}"
