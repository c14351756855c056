#!/usr/bin/env bash
# Install a CPU-usable PyTorch into a venv OUTSIDE the repo, for the peer
# speed comparison (benchmarks/peers). Not used by the default test run.
#
# PyPI's Linux x86_64 torch wheel is the CUDA build: libtorch_cuda.so is a
# hard load-time dependency (NEEDED) of libtorch.so, so `import torch` fails
# without the CUDA runtime libraries even on a CPU-only machine. A plain
# `pip install torch` pulls ~5.4 GB (incl. triton, cusolver, ...). This script
# installs torch with --no-deps plus only the pure-Python deps and the nvidia
# wheels whose .so files are needed at import time (~4.1 GB on disk).
#
# Usage: bash benchmarks/peers/install_torch_venv.sh [VENV_DIR]
#        FULL=1 bash benchmarks/peers/install_torch_venv.sh   # plain pip install
set -euo pipefail
VENV="${1:-${MEDMTL_PEERS_VENV:-$HOME/.cache/medmtl-peers-venv}}"
TORCH_VERSION="${TORCH_VERSION:-2.15.0}"

python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip

if [ "${FULL:-0}" = "1" ]; then
  "$PY" -m pip install "torch==$TORCH_VERSION"
else
  "$PY" -m pip install --no-deps "torch==$TORCH_VERSION"
  # pure-Python deps of torch (+ numpy, to silence torch's numpy warning)
  "$PY" -m pip install filelock 'typing-extensions>=4.13.0' 'setuptools>=77.0.3' \
    'sympy>=1.13.3' 'networkx>=2.5.1' jinja2 'fsspec>=0.8.5' numpy
  # shared libraries that libtorch_cuda.so / libtorch_python.so / libtorch_nvshmem.so
  # link against (versions = those torch 2.15.0 pins). Skipped vs. the full
  # install: triton (~1 GB), nvidia-cusolver, nvidia-cuda-cccl, nvidia-nvtx,
  # cuda-toolkit / cuda-bindings metapackages.
  "$PY" -m pip install --no-deps \
    nvidia-cuda-runtime==13.2.86 \
    nvidia-cuda-nvrtc==13.2.86 \
    nvidia-cuda-cupti==13.2.86 \
    nvidia-cublas==13.4.1.3 \
    nvidia-cufft==12.2.0.57 \
    nvidia-cufile==1.17.1.22 \
    nvidia-cusparse==12.7.10.12 \
    nvidia-nvjitlink==13.5.37 \
    nvidia-cudnn-cu13==9.26.0.51 \
    nvidia-cusparselt-cu13==0.8.1 \
    nvidia-nccl-cu13==2.30.7 \
    nvidia-nvshmem-cu13==3.7.2
fi

# smoke test: import + conv2d/BN backward + Adam step on CPU
"$PY" - <<'PY'
import torch, torch.nn as nn
m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
loss = m(torch.randn(4, 3, 28, 28)).mean()
loss.backward()
opt.step()
print(f"torch {torch.__version__} OK (cuda available: {torch.cuda.is_available()})")
PY
du -sh "$VENV"
