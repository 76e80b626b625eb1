# Sourced by scripts/run and scripts/test: use the active virtual environment,
# or create and activate ./.venv. Needs only Python 3.11+ and pip.
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
  fi
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
