#!/usr/bin/env bash
# The test command (README): installs what the tests need, lints, type-checks,
# then runs the whole pytest suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# The AWS CLI v1 that tests/aws/test_setup_script_cli.py runs the generated scripts with: its own
# virtualenv, because it pins a botocore other than the project's boto3 (docs/setup-script.md).
# It installs beside the project's, in the background: on a fresh machine both wait on downloads
# (docs/decisions.md#ci-time).
python3 -m venv .venv-awscli
.venv-awscli/bin/python -m pip install -q --disable-pip-version-check 'awscli==1.46.2' &
awscli_install=$!
trap 'kill "$awscli_install" 2>/dev/null || true' EXIT # the project's install failed first
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
wait "$awscli_install"
trap - EXIT

# Debian packages the tests drive: chromium (browser tests, with
# --no-install-recommends, or apt pulls ~500 MB) and shellcheck (CLI script lint).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "Please install: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

bash scripts/vendor-assets.sh --check
.venv/bin/ruff check app tests bench migrations scripts
.venv/bin/ruff format --check app tests bench migrations scripts
.venv/bin/mypy
# pytest exits 5 when it collected no test: that fails this script too.
# -n auto: one pytest-xdist worker per CPU (two on CI); an argument `-n N` (later,
# so it wins) or PYTEST_XDIST_AUTO_NUM_WORKERS=N changes it, `-n 0` runs in one process.
exec .venv/bin/python -m pytest -n auto "$@"
