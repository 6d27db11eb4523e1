#!/usr/bin/env bash
# The GPU measurements of bench/README.md in one or two calls of a lent GPU machine, which
# has its own Python (3.12, CUDA jax, torch), no network and no install of this project.
# Needs, inside the repository: .gpu/frappe_x1/ (Frappe_x1 train/valid, BARS layout) and .whl/
# (wheels the machine lacks: fuxictr 2.3.9, keras-preprocessing, polars 1.0). Every stage has
# its own time limit and its own log; $OUT/results.tgz is rewritten after each stage, so a
# killed call still returns what finished.
#   bash bench/gpu_session.sh STAGE...   stages: env peer seeds profile init lazy scale epoch
#   precision grid, and sweep:NAME (a Frappe sweep of experiments.sweeps into $RES/runs, time
#   limit $LIMIT s, as $JOBS concurrent worker processes)
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD:/tmp/site" RESCTR_DATA_DIR=/tmp/resctr-data
export XDG_CACHE_HOME=/tmp/cache
OUT=${OUT:-/tmp/out}
RES=$OUT/res
mkdir -p "$RES"
FRAPPE=$PWD/.gpu/frappe_x1
PY=python3

if [ ! -d /tmp/site/fuxictr ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || echo "wheel install failed"
fi

stage() {  # stage NAME SECONDS COMMAND...: run under a time limit, log, pack the results
  local name=$1 limit=$2
  shift 2
  echo "=== $name (limit ${limit}s) $(date -u +%H:%M:%S)"
  local t0=$SECONDS
  timeout "$limit" "$@" >"$RES/$name.log" 2>&1
  local rc=$?
  echo "=== $name rc=$rc $((SECONDS - t0))s"
  tail -n 25 "$RES/$name.log"
  tar czf "$OUT/results.tgz" --exclude=ckpt --exclude='*.xplane.pb' -C "$RES" .
}

for s in "$@"; do
  case $s in
    env) stage env 60 bash -c "nvidia-smi; $PY -c 'import jax, flax, optax, orbax.checkpoint as o, torch, numpy; print(\"jax\", jax.__version__, jax.devices(), \"flax\", flax.__version__, \"optax\", optax.__version__, \"orbax\", o.__version__ if hasattr(o, \"__version__\") else \"?\", \"torch\", torch.__version__, torch.cuda.is_available(), \"numpy\", numpy.__version__)'" ;;
    peer) stage peer 170 $PY bench/peer.py --device cuda --peer-python "$(command -v $PY)" \
      --data "$FRAPPE" --seeds 2021 --json "$RES/peer.json" ;;
    seeds) stage seeds 90 $PY bench/train.py --steps 50 --seeds 1,5 --data "$FRAPPE" ;;
    profile) stage profile 120 $PY bench/train.py --steps 50 --seeds 1,5 --data "$FRAPPE" \
      --trace "$RES/trace" ;;
    init) stage init 60 bash -c "$PY bench/init.py --mode eager; $PY bench/init.py --mode jit" ;;
    lazy) stage lazy 45 $PY bench/lazy_adam.py ;;
    scale) stage scale 300 $PY bench/scale.py --compare --compute-dtype float32,bfloat16 \
      --optimizer adam,lazy_adam --models deepfm,dcnv2 --json "$RES/scale.json" ;;
    epoch) stage epoch 120 $PY bench/scale.py --models deepfm --full-epoch --epoch-budget-s 90 \
      --json "$RES/epoch.json" ;;
    precision) stage precision 150 $PY bench/precision.py --data "$FRAPPE" --seeds 3 ;;
    grid) stage grid 330 $PY bench/grid.py --modes vmapped --data "$FRAPPE" \
      --workdir "$RES/grid" --json "$RES/grid.json" ;;
    sweep:*) stage "${s#sweep:}" "${LIMIT:-300}" $PY -m experiments.cli run --sweep "${s#sweep:}" \
      --workdir "$RES/runs" --manual-dir "$FRAPPE" --jobs "${JOBS:-1}" --no-progress ;;
    *) echo "unknown stage $s" ;;
  esac
done
