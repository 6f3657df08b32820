# Python interpreter with the official openai/anthropic SDKs, for the proxy's SDK tests.
export GLASSBOX_SDK_PYTHON="${GLASSBOX_SDK_PYTHON:-$GLASSBOX_ROOT/.venv-sdk/bin/python}"
