# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.reskin-installed
DEBS   := libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libxi6 libxkbcommon0 libsm6 libxxf86vm1 libxfixes3 libxrender1 fonts-wqy-microhei chromium chromium-driver

.PHONY: demo test install lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml tools/gltf-validator/package.json Makefile
	@# Debian libraries Blender and the GL preview need, a CJK font for burned-in
	@# subtitles, and headless Chromium + its driver for the web player's tests; only
	@# installed when root and missing.
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then echo "apt-get install$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# torch first and pinned: the CPU build comes from local disk; unpinned pulls a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[all]'
	@# pyrender pins PyOpenGL 3.1.0 whose OSMesa path is broken; 3.1.10 works (see ENV.md).
	$(BIN)/pip install -q --no-deps PyOpenGL==3.1.10
	cd tools/gltf-validator && npm install --silent --no-audit --no-fund
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reskin demo demo-series

test: $(STAMP)
	$(BIN)/ruff check reskin tests bench
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check reskin tests bench

bench: $(STAMP)
	@# Each prints its figures as ratios against an anchor measured in the same run.
	$(BIN)/python bench/skinning.py
	$(BIN)/python bench/rig_quality.py
	$(BIN)/python bench/rig_weights.py
	$(BIN)/python bench/skin_speed.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/denoise.py
	$(BIN)/python bench/coherence.py
	$(BIN)/python bench/import_large.py
	$(BIN)/python bench/lipsync.py
	$(BIN)/python bench/cast_import.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) demo-series tools/gltf-validator/node_modules
