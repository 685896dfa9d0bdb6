#!/usr/bin/env bash
# Creates the incumbents' benchmark venvs under $VENVS (default /tmp/venvs):
# scipy, alibi, evidently (the default set) and, on request, nannyml. These
# are NEVER project dependencies: they exist only so bench/run_bench.py (and
# bench/incumbents/bench_nannyml_cbpe.py) can run the incumbents' scripts next
# to argus.
#
#   bench/setup_venvs.sh [scipy alibi evidently nannyml]
#   bench/setup_venvs.sh nannyml    # NannyML CBPE, for bench_nannyml_cbpe.py
#
# Each venv is installed from the exact pins measured in the anchors
# (/work/shared/anchors/requirements/<name>.txt); if a pin fails, it falls
# back to the install command documented in the anchors README. Idempotent:
# a venv that already imports its library is left alone.
set -u
ANCHORS=${ANCHORS:-/work/shared/anchors}
VENVS=${VENVS:-/tmp/venvs}
PY=${PYTHON:-python3}
NAMES=${*:-scipy alibi evidently}
mkdir -p "$VENVS"

import_of() {
  case $1 in
    scipy) echo "import numpy, scipy, pandas, pyarrow" ;;
    alibi) echo "import alibi_detect, pandas, pyarrow; from alibi_detect.cd import TabularDrift" ;;
    evidently) echo "import evidently, pandas, pyarrow; from evidently import Report; from evidently.presets import DataDriftPreset" ;;
    nannyml) echo "import nannyml, pandas, pyarrow, sklearn; from nannyml.performance_estimation.confidence_based import CBPE" ;;
    *) echo "unknown venv $1" >&2; return 1 ;;
  esac
}

fallback_of() {  # the anchors README's install commands
  case $1 in
    scipy) echo "numpy scipy pandas pyarrow" ;;
    alibi) echo "alibi-detect pyarrow==22.0.0" ;;
    evidently) echo "evidently pyarrow pandas<3" ;;
    # nannyml 0.13.1 imports statsmodels without declaring it (anchors README)
    nannyml) echo "nannyml pandas pyarrow statsmodels" ;;
  esac
}

rc_all=0
for name in $NAMES; do
  v="$VENVS/$name"
  imp=$(import_of "$name") || { rc_all=1; continue; }
  if [ -x "$v/bin/python" ] && "$v/bin/python" -W ignore -c "$imp" 2>/dev/null; then
    echo "[$name] ok (already imports), skipping"
    continue
  fi
  echo "[$name] creating $v"
  [ -x "$v/bin/python" ] || "$PY" -m venv "$v" || { echo "[$name] venv failed"; rc_all=1; continue; }
  "$v/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  if ! "$v/bin/python" -m pip install -q -r "$ANCHORS/requirements/$name.txt"; then
    echo "[$name] pinned install failed; falling back to: pip install $(fallback_of "$name")"
    # shellcheck disable=SC2046
    "$v/bin/python" -m pip install -q $(fallback_of "$name") || { echo "[$name] fallback failed"; rc_all=1; continue; }
  fi
  if "$v/bin/python" -W ignore -c "$imp"; then
    echo "[$name] ok: $("$v/bin/python" -m pip freeze | tr '\n' ' ' | head -c 300)"
  else
    echo "[$name] installed but does not import"; rc_all=1
  fi
done
exit $rc_all
