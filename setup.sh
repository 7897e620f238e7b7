#!/usr/bin/env bash
# Set up tutor on a fresh machine and run its main job: build the index of corpus/ and answer a question.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages for the tests: Chromium and a CJK font for the browser tests (or Chinese renders as boxes),
# openssl for the test certificate of the HTTPS fetch test
if command -v apt-get >/dev/null 2>&1; then
  if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
     || ! command -v openssl >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk openssl >/dev/null
  fi
fi

python3 -m venv .venv
# torch 2.13.0 is the CPU build; an unpinned torch would pull a multi-GB CUDA build
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[dev,st]'

.venv/bin/tutor index
.venv/bin/tutor ask "dropout为什么能防止过拟合？"
