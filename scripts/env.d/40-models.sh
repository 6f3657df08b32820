# glassbox-classify: the ONNX Runtime library and the model bundles built by
# scripts/setup.d/40-models.sh.
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$GLASSBOX_ROOT/.runtime/onnxruntime/libonnxruntime.so.1.31.1}"
export GLASSBOX_MODELS="${GLASSBOX_MODELS:-$GLASSBOX_ROOT/models}"
