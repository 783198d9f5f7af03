# Brightbay support assistant: `make chat` talks to it, `make test` guards it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
# Rasa 3.6 needs Python < 3.11: take the 3.10 that pyenv ships on these machines.
PYTHON310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10) $(shell command -v python3.10 2>/dev/null))
ACTION_PORT ?= 5055
RASA_PORT ?= 5005
WEB_HOST ?= 127.0.0.1
MODEL := models/brightbay.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(shell find data bot/nlu bot/policies -name '*.yml' -o -name '*.py' 2>/dev/null | sort)

# No telemetry, no model-hub traffic, quiet TensorFlow, in everything we start.
export RASA_TELEMETRY_ENABLED := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export TOKENIZERS_PARALLELISM := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# This checkout's code, whatever checkout the shared virtualenv's editable install points at.
export PYTHONPATH := $(CURDIR)
export ACTION_SERVER_URL ?= http://127.0.0.1:$(ACTION_PORT)/webhook

.PHONY: help install browser web-deps web-build credentials web db train actions chat test test-py validate test-stories lock clean nginx serve serve-stop

help:
	@echo "make chat   - set up, train if needed, and talk to the assistant in rasa shell"
	@echo "make web    - set up, train if needed, and serve the demo store page with the chat widget"
	@echo "make test   - set up, then pytest, rasa data validate and the story tests"

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (Rasa 3.6 needs Python < 3.11): install it with pyenv" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -c constraints.txt -e ".[dev]"
	$(PY) -m pip check
	@touch $@

install: $(VENV)/.installed

# Debian's chromium and chromedriver for the widget's browser test; installed only when missing.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; else \
	  echo "installing chromium and chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium chromium-driver; \
	fi

# The widget's front-end dependency (socket.io-client) from the npm registry, exactly as locked.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

web-deps: node_modules/.package-lock.json

# build/web: the page, the widget and socket.io-client's browser bundle, served by Rasa at /chat/.
web-build: web-deps
	@mkdir -p build/web
	cp web/index.html web/widget.js web/widget.css node_modules/socket.io-client/dist/socket.io.min.js build/web/

# var/credentials.yml: credentials.yml without the channels whose variables are unset.
credentials: install
	$(PY) -m bot.channels.credentials -o var/credentials.yml

# The assistant with every configured channel, and the demo store page with the widget.
web: db train web-build credentials
	@bash scripts/start_action_server.sh $(ACTION_PORT); \
	trap 'bash scripts/stop_action_server.sh $(ACTION_PORT)' EXIT; \
	echo "Brightbay demo store with the chat widget: http://127.0.0.1:$(RASA_PORT)/chat/  (Ctrl-C stops)"; \
	$(RASA) run --model $(MODEL) --endpoints endpoints.yml --credentials var/credentials.yml \
	  --interface $(WEB_HOST) --port $(RASA_PORT)

db: install
	$(PY) -m bot.db.seed

# Rasa trains only when data, config or components changed.
$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS)
	$(RASA) train --fixed-model-name brightbay --out models
	@touch $@

train: $(MODEL)

# Starts the action server in the background, waits for its health check.
actions: install
	$(PY) -m bot.launch run actions --port $(ACTION_PORT) --actions actions

chat: db train credentials
	@bash scripts/start_action_server.sh $(ACTION_PORT); \
	trap 'bash scripts/stop_action_server.sh $(ACTION_PORT)' EXIT; \
	$(RASA) shell --model $(MODEL) --endpoints endpoints.yml --credentials var/credentials.yml --port $(RASA_PORT)

# nginx from Debian's packages (the load balancer of `make serve` and the production tests),
# installed only when missing (the tests run their own nginx processes on free ports).
NGINX := $(firstword $(shell command -v nginx 2>/dev/null) $(wildcard /usr/sbin/nginx))
nginx:
ifeq ($(NGINX),)
	@echo "installing nginx from Debian's packages"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx
else
	@true
endif

test-py: install browser web-build nginx
	$(PY) -m pytest -q

validate: install
	$(RASA) data validate

# rasa test replays each story's own slot events instead of running the actions,
# so no action server is needed; tests/test_conversation_e2e.py runs the real ones.
test-stories: train
	$(RASA) test core --model $(MODEL) --stories tests/stories --endpoints endpoints.yml \
	  --fail-on-prediction-errors --out results

test: db train test-py validate test-stories

# The production topology on loopback (see README "Production"): INSTANCES Rasa processes and
# the action server on the local PostgreSQL and Redis, behind nginx on SERVE_PORT.
INSTANCES ?= 2
SERVE_PORT ?= 8080
serve: install train nginx
	$(PY) scripts/serve.py start --instances $(INSTANCES) --port $(SERVE_PORT)

serve-stop:
	$(PY) scripts/serve.py stop

# Re-resolve the pinned set after changing dependencies in pyproject.toml.
lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^brightbay' > constraints.txt

clean:
	rm -rf models results var
