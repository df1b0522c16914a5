# make lab       set up .venv (first time only) and open the tutorial in JupyterLab
# make test      the test suite: units, notebooks (papermill + nbval, smoke mode), JupyterLab in a
#                browser, the course site; then the backend-neutral tests on JAX and on PyTorch
# make site      the course site: the committed notebooks as saved, in build/site (open index.html)
# make reports   run the notebooks as reports into reports/ (PARAMS=params/smoke.yaml for a quick one)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PARAMS ?= params/default.yaml
MATHJAX := tests/mathjax/node_modules/.package-lock.json
# TensorFlow's C++ start-up logs would otherwise fill the terminal and the notebook outputs.
export TF_CPP_MIN_LOG_LEVEL ?= 3
# The tests of what must hold on every Keras backend (helpers is written with keras.ops): `make test`
# runs them on TensorFlow with the rest, then again on JAX and on PyTorch.
BACKEND_NEUTRAL_TESTS := tests/test_layers.py tests/test_layers_sincos.py tests/test_approximations.py \
	tests/test_models.py tests/test_convergence.py tests/test_svm.py tests/test_streaming.py \
	tests/test_distributed.py tests/test_sgd_svm.py tests/test_kernel_svm.py
SITE_OUT ?= build/site
# Jupyter refuses to start as root (containers, CI machines) unless told it may.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test reports site site-html

setup: $(VENV)/.installed $(MATHJAX)

$(VENV)/.installed: requirements.txt requirements-test.txt requirements-site.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt -e .
	touch $@

# MathJax for tests/test_formulas.py (Node.js and npm); skipped with a note where npm is missing.
$(MATHJAX): tests/mathjax/package.json tests/mathjax/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/mathjax --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: tests/test_formulas.py will be skipped (install Node.js to run it)"; fi

# The file browser opens at the repository root, with notebook 01 open.
lab: setup
	$(BIN)/jupyter lab $(LAB_FLAGS) --ServerApp.root_dir=. notebooks/01_svm_theory.ipynb

test: setup
	SVM_TUTORIAL_SMOKE=1 $(BIN)/python -m pytest --nbval-lax tests notebooks
	KERAS_BACKEND=jax $(BIN)/python -m pytest $(BACKEND_NEUTRAL_TESTS)
	KERAS_BACKEND=torch $(BIN)/python -m pytest $(BACKEND_NEUTRAL_TESTS)

# Sphinx + MyST-NB + sphinx-book-theme (site/conf.py); nothing is executed, warnings are errors.
site: setup
	@$(MAKE) --no-print-directory site-html

# The build alone, in an environment already set up (tests/test_site.py runs it in a clean copy).
site-html:
	$(BIN)/sphinx-build -b html -c site -W --keep-going -q . $(SITE_OUT)
	@echo "The course site: $(SITE_OUT)/index.html"

reports: setup
	$(BIN)/python -m helpers.reports $(PARAMS) --out reports
