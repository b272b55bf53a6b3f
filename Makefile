# Two commands do everything on a fresh machine: `make serve` and `make test`.
# Both create .venv from the pinned requirements on first use and reuse it afterwards.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8866
API_PORT ?= 8865
API_WORKERS ?= 1
OPERATOR_PORT ?= 8867
KEEP   ?=
VOILA_ARGS ?=
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: serve test venv test-deps train-demo verify bench clean-venv

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import torch, torchvision, fastai, voila, ipywidgets, fastapi, uvicorn, httpx, predictors, widgets"
	@touch $(STAMP)

venv: $(STAMP)

# The model server on 127.0.0.1:$(API_PORT); the prediction apps at http://$(HOST):$(PORT)/ (Voila,
# config voila.json, app kernels thin); the monitor and setup check behind a token on
# http://127.0.0.1:$(OPERATOR_PORT)/. HOST other than 127.0.0.1 needs FASTAI_APPS_TOKEN. KEEP=30d
# deletes logged predictions older than that; PORT="8866 8868" runs one Voila per port (for a proxy,
# deploy/nginx-fastai-apps.conf). Ctrl-C stops everything.
serve: venv
	$(PY) -m predictors serve --host $(HOST) $(foreach p,$(PORT),--port $(p)) --api-port $(API_PORT) --api-workers $(API_WORKERS) \
	  --operator-port $(OPERATOR_PORT) $(if $(KEEP),--keep $(KEEP)) $(if $(VOILA_ARGS),-- $(VOILA_ARGS))

# axe-core (npm) for the accessibility scan of the served apps, injected by Playwright.
AXE_VERSION = 4.10.3
AXE = .cache/axe-core/node_modules/axe-core/axe.min.js

# Debian's Chromium for the browser tests (never a downloaded browser build), Debian's PostgreSQL
# server, which the tests start on a private socket to check the log's second backend, and Debian's
# nginx, which the proxy test starts in front of the apps with TLS (deploy/nginx-fastai-apps.conf).
test-deps:
	@command -v chromium >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium postgresql >/dev/null; }
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
	@test -f $(AXE) || npm install --prefix .cache/axe-core --no-save --no-audit --no-fund --loglevel=error axe-core@$(AXE_VERSION)

# The whole suite: unit tests, nbval on the notebooks, browser tests against a served Voila.
test: venv test-deps
	$(PY) -m pytest $(PYTEST_ARGS)

verify: venv
	$(PY) -m predictors verify

# Retrain the demo models from data/ (registers new versions in models/).
train-demo: venv
	$(PY) -m predictors train-tabular --csv data/adult_sample/adult.csv --target salary --name adult_income \
	  --describe ">=50k=this person earns more than \$$50k a year" --describe "<50k=this person earns \$$50k a year or less"
	$(PY) -m predictors labels adult_income data/adult_sample/labels.json
	$(PY) -m predictors train-image --folder data/fruits360/Training --test-folder data/fruits360/Test --name fruits \
	  --epochs 20 --repeat 1 --valid-pct 0.1 --ground 0.3 --no-mixup --about "photos of single fruits on a white sheet (Fruits-360)" \
	  --negatives data/fruit_emoji/noto --negatives data/fruit_emoji/openmoji --negatives data/fruit_emoji/fluent_flat \
	  --test-negatives data/fruit_emoji/fluent_modern
	$(PY) -m predictors labels fruits data/fruits360/labels.json
	$(PY) data/fruits360/make_composites.py build/fruit_mix
	$(PY) -m predictors train-multilabel --csv build/fruit_mix/train/labels.csv --valid-csv build/fruit_mix/valid/labels.csv \
	  --test-csv build/fruit_mix/test/labels.csv --name mixed_fruits --epochs 12 \
	  --about "pictures of 0–3 fruits on a white sheet (Fruits-360 photos)"
	$(PY) -m predictors labels mixed_fruits data/fruits360/mix_labels.json
	$(PY) -m predictors train-text --csv data/sms_spam/sms.csv --name sms_spam --epochs 8 \
	  --describe "spam=unsolicited advertising or a scam" --describe "ham=an ordinary message" \
	  --about "4,459 English SMS messages of 2011–2012 (SMS Spam Collection)"
	$(PY) -m predictors train-tabular --csv data/bike_sharing/hour.csv --target cnt --name bike_rentals \
	  --exclude casual,registered --time-column dteday --cat season,yr,mnth,hr,holiday,weekday,workingday,weathersit \
	  --cont temp,atemp,hum,windspeed --target-transform log1p --units bikes --baseline --epochs 12 \
	  --describe "value=About {value} bikes rented in that hour" --describe "range={share} of similar hours: {low}–{high}"
	$(PY) -m predictors labels bike_rentals data/bike_sharing/labels.json
	$(PY) -m predictors train-collab --csv data/movielens_small/ratings.csv --items data/movielens_small/movies.csv \
	  --name movie_ratings --user userId --item movieId --rating rating --time timestamp
	$(PY) -m predictors train-lm --csv data/sms_spam/sms.csv --name sms_writer --epochs 20 \
	  --about "4,459 English SMS messages of 2011–2012 (SMS Spam Collection)"

bench: venv
	$(PY) benchmarks/tabular_predict.py
	$(PY) benchmarks/tabular_predict.py --model bike_rentals
	$(PY) benchmarks/image_predict.py
	$(PY) benchmarks/image_predict.py --model mixed_fruits
	$(PY) benchmarks/text_predict.py
	$(PY) benchmarks/recommend.py
	$(PY) benchmarks/generate.py
	$(PY) benchmarks/api_throughput.py
	$(PY) benchmarks/explain.py
	$(PY) benchmarks/batch_scale.py --rows 1000000

clean-venv:
	rm -rf $(VENV)
