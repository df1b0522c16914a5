# make lab       set up .venv (first time only) and open the tutorial in JupyterLab
# make test      the test suite: units, notebooks (papermill + nbval, smoke mode), then JAX
# make reports   run the notebooks as reports into reports/ (PARAMS=params/smoke.yaml for a quick one)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PARAMS ?= params/default.yaml
# Jupyter refuses to start as root (containers, CI machines) unless told it may.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test reports

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt -e .
	touch $@

lab: setup
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/01_svm_theory.ipynb

test: setup
	SVM_TUTORIAL_SMOKE=1 $(BIN)/python -m pytest --nbval-lax tests notebooks
	KERAS_BACKEND=jax $(BIN)/python -m pytest tests/test_layers.py tests/test_layers_sincos.py tests/test_models.py tests/test_svm.py

reports: setup
	$(BIN)/python -m helpers.reports $(PARAMS) --out reports
