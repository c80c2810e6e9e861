#!/usr/bin/env bash
# Mutation testing of the modules where a silent error hurts users most (issue 31); not part of CI.
#
#   bash scripts/mutation.sh MODULE...     mutmut over each module, with that module's own targeted tests
#   bash scripts/mutation.sh all           every module below
#   bash scripts/mutation.sh issue         the issue's hand-made breakages, one at a time: caught or survived
#   bash scripts/mutation.sh all issue     both
#
# MODULE is a short name or its path: volume (wavbrivl/volume.py), tabs (the app's wiring of the Volume slider in
# wavbrivl/frontend/tabs.py and classify.py: only the lines that carry the volume are mutated), audio
# (wavbrivl/data/audio.py), image (wavbrivl/data/image.py), checks (wavbrivl/generation/checks.py), ranking
# (wavbrivl/ranking.py), metrics (wavbrivl/metrics.py), eval-metrics (wavbrivl/evaluation/metrics.py), pairs
# (wavbrivl/data/pairs.py), sample (wavbrivl/generation/sample.py).
#
# How: the working tree (tracked and untracked files that git does not ignore) is copied to a scratch folder per
# module, $MUTATION_DIR/NAME (default /tmp/wavbrivl-mutation), and a setup.cfg with a [mutmut] section is written
# there (pyproject.toml has none, so mutmut 3 reads it; the repository itself is never touched). mutmut 3 copies
# the package to mutants/, rewrites every function of the module into a trampoline over its mutated versions,
# runs the module's tests once to learn which test calls which function, then runs, for each mutant, only the
# tests that reach it, in forked processes (MUTATION_JOBS at a time, default 2). mutmut mutates code inside
# top-level functions and methods only: module-level constants (MAX_FULL_SCALE, MAX_WEIGHT...) and functions made
# inside functions (the app's request handlers, which each tab builds as a closure) are covered by the `issue` table
# below instead. Each module's line (mutants, killed, survived, score) is appended to
# $MUTATION_DIR/summary.md and its survivors' diffs are written to $MUTATION_DIR/NAME/survivors.diff. Score:
# (killed + timed out) / mutants. `cd $MUTATION_DIR/NAME && mutmut show NAME` shows one mutant, and `mutmut run
# NAME` reruns it.
#
# `issue` applies each breakage (a text replacement in one file) to a scratch copy, runs the tests named with it
# (pytest -n MUTATION_JOBS), records caught (a test failed) or survived, restores the file and goes on; the table
# goes to $MUTATION_DIR/issue.md.
#
# Needs mutmut 3 in .venv (`.venv/bin/pip install "mutmut>=3.8,<4"`). A run of `all` takes about 16 minutes on
# 2 cores, `issue` about 16 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
DIR=${MUTATION_DIR:-/tmp/wavbrivl-mutation}
JOBS=${MUTATION_JOBS:-2}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/numba-cache}
export PATH="$ROOT/.venv/bin:$PATH"

if ! "$PY" -c "import mutmut, sys; sys.exit(int(mutmut.__version__.split('.')[0]) < 3)" 2>/dev/null; then
  echo "mutmut 3 is not installed: .venv/bin/pip install 'mutmut>=3.8,<4'" >&2
  exit 2
fi
if [ $# -eq 0 ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

ALL="volume tabs audio image checks ranking metrics eval-metrics pairs sample"

# The module(s) a name stands for, and the tests that guard them (kept small: a run is minutes, not hours).
module_of() {
  case "$1" in
    volume | wavbrivl/volume.py) echo "wavbrivl/volume.py" ;;
    tabs | wavbrivl/frontend/tabs.py) echo "wavbrivl/frontend/tabs.py wavbrivl/frontend/classify.py" ;;
    audio | wavbrivl/data/audio.py) echo "wavbrivl/data/audio.py" ;;
    image | wavbrivl/data/image.py) echo "wavbrivl/data/image.py" ;;
    checks | wavbrivl/generation/checks.py) echo "wavbrivl/generation/checks.py" ;;
    ranking | wavbrivl/ranking.py) echo "wavbrivl/ranking.py" ;;
    metrics | wavbrivl/metrics.py) echo "wavbrivl/metrics.py" ;;
    eval-metrics | wavbrivl/evaluation/metrics.py) echo "wavbrivl/evaluation/metrics.py" ;;
    pairs | wavbrivl/data/pairs.py) echo "wavbrivl/data/pairs.py" ;;
    sample | wavbrivl/generation/sample.py) echo "wavbrivl/generation/sample.py" ;;
    *) return 1 ;;
  esac
}

tests_of() {
  case "$1" in
    volume) echo "tests/test_volume.py tests/test_volume_values.py" ;;
    tabs) echo "tests/frontend/test_app_volume.py" ;;
    audio) echo "tests/data/test_audio_input.py tests/data/test_input_bounds.py" ;;
    image) echo "tests/data/test_image_input.py tests/data/test_input_bounds.py" ;;
    checks) echo "tests/generation/test_checks_values.py" ;;
    ranking) echo "tests/test_ranking.py" ;;
    metrics) echo "tests/test_metrics.py tests/evaluation/test_eval_metrics.py tests/test_metrics_values.py" ;;
    eval-metrics) echo "tests/evaluation/test_eval_metrics.py tests/test_metrics.py tests/test_metrics_values.py" ;;
    pairs) echo "tests/test_pairs.py tests/test_pairs_values.py" ;;
    sample) echo "tests/models/test_decoder.py tests/generation/test_sample_values.py" ;;
  esac
}

short_name() {
  for name in $ALL; do
    if [ "$1" = "$name" ] || [ "$(module_of "$name" | cut -d' ' -f1)" = "$1" ]; then
      echo "$name"
      return
    fi
  done
  return 1
}

# A fresh copy of the working tree (what git tracks, and untracked files it does not ignore) at $1.
scratch_copy() {
  rm -rf "$1"
  mkdir -p "$1"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$1"
}

run_module() {
  local name=$1 work="$DIR/$1" modules tests
  modules=$(module_of "$name")
  tests=$(for t in $(tests_of "$name"); do if [ -e "$t" ]; then echo "$t"; fi; done)
  if [ -z "$tests" ]; then
    echo "== $name: none of its tests ($(tests_of "$name")) is here; skipped" >&2
    return 0
  fi
  echo "== $name: mutating $modules with" $tests
  scratch_copy "$work"
  {
    echo "[mutmut]"
    echo "source_paths = wavbrivl"
    echo "only_mutate ="
    for m in $modules; do echo "    $m"; done
    echo "pytest_add_cli_args_test_selection ="
    for t in $tests; do echo "    $t"; done
    echo "pytest_add_cli_args ="
    echo "    -p"
    echo "    no:cacheprovider"
    echo "also_copy ="
    echo "    app.py"
    echo "    assets"
    if [ "$name" = tabs ]; then
      # Only the lines that carry the Volume slider's value (the rest of the tabs is layout, out of scope here).
      echo "do_not_mutate_patterns = ^(?!.*(volume_db|shared\\.volume|, volumes\\)))"
      # The app's test serves Gradio from threads: each mutant starts from a clean fork server, not from the
      # process that already served the app (forked from there, the server threads spin until the CPU limit).
      echo "process_isolation = forkserver"
      echo "timeout_multiplier = 40"
    fi
  } >"$work/setup.cfg"
  local start=$SECONDS
  (cd "$work" && mutmut run --max-children "$JOBS" >mutmut.log 2>&1) || {
    echo "mutmut failed for $name; see $work/mutmut.log" >&2
    tail -20 "$work/mutmut.log" >&2
    return 1
  }
  (cd "$work" && "$PY" - "$name" "$((SECONDS - start))" "$DIR/summary.md" <<'EOF'
import json
import subprocess
import sys
from pathlib import Path

from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
from mutmut.stats import status_by_exit_code

name, seconds, summary = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
counts: dict[str, int] = {}
survivors = []
for meta in sorted(Path("mutants").rglob("*.meta")):
    for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        status = status_by_exit_code[code]
        counts[status] = counts.get(status, 0) + 1
        if status not in ("killed", "timeout"):
            survivors.append((key, status))
total = sum(counts.values())
killed = counts.get("killed", 0) + counts.get("timeout", 0)
score = 100 * killed / total if total else 0.0
others = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k not in ("killed", "survived"))
line = f"| {name} | {total} | {killed} | {counts.get('survived', 0)} | {score:.1f} % | {seconds} s | {others} |"
print(line)
if not summary.exists():
    summary.write_text(
        "| module | mutants | killed | survived | score | time | other |\n|---|---|---|---|---|---|---|\n"
    )
with summary.open("a") as out:
    out.write(line + "\n")
with open("survivors.diff", "w") as out:
    for key, status in survivors:
        try:
            shown = get_diff_for_mutant(key, path=find_mutant(key).path)
        except Exception:  # noqa: BLE001 - fall back on the command line
            shown = subprocess.run(["mutmut", "show", key], capture_output=True, text=True).stdout
        out.write(f"### {key} ({status})\n{shown}\n")
        print(f"  {status}: {key}")
EOF
  )
}

# The issue's table, then one breakage per weak spot it lists, each as: file | text | replacement | tests (paths or
# node ids). The text must be found exactly once (the run says so when the code has moved on).
ISSUE_TABLE=$(
  cat <<'EOF'
wavbrivl/frontend/tabs.py|pipe.prepare(sound, float(volume_db), config|pipe.prepare(sound, 0.0, config|tests/frontend/test_app_volume.py tests/frontend/test_app.py
wavbrivl/data/audio.py|MAX_FULL_SCALE = 10.0|MAX_FULL_SCALE = 99.0|tests/data
wavbrivl/data/audio.py|if len(array) < 400:|if len(array) < 101:|tests/data
wavbrivl/pipeline.py|apply_gain(c.waveform, v, self.clip_policy)|apply_gain(c.waveform, -v, self.clip_policy)|tests/test_pipeline.py tests/frontend/test_app_volume.py
wavbrivl/pipeline.py|apply_gain(c.waveform, v, self.clip_policy)|apply_gain(c.waveform, -v, self.clip_policy)|tests/frontend/test_app_volume.py
wavbrivl/generation/sample.py|torch.Generator().manual_seed(int(config.seed))|torch.Generator().manual_seed(0)|tests/generation/test_sample_values.py tests/models/test_decoder.py
wavbrivl/frontend/classify.py|shared.embed_sound(audio, float(volume_db))|shared.embed_sound(audio, 0.0)|tests/frontend/test_app_volume.py
wavbrivl/frontend/tabs.py|pipe.rank(shared.embed_sound(audio, float(volume_db))|pipe.rank(shared.embed_sound(audio, 0.0)|tests/frontend/test_app_volume.py
wavbrivl/data/audio.py|if source_peak > MAX_FULL_SCALE:|if source_peak >= MAX_FULL_SCALE:|tests/data
wavbrivl/data/audio.py|if len(array) < 400:|if len(array) <= 400:|tests/data
wavbrivl/generation/unclip.py|norm.std.float().pow(2).sum()))|norm.std.float().pow(2).sum() * 4))|tests/generation/test_unclip.py
wavbrivl/generation/unclip.py|mixed = (targets * guidance_weights(weights)|mixed = (targets * guidance_weights(weights.clamp(min=0))|tests/generation/test_unclip.py
wavbrivl/hosting.py|CALL_OVERHEAD_SECONDS = 20|CALL_OVERHEAD_SECONDS = 25|tests/test_spaces.py::test_one_pass_methods_declare_their_own_durations
wavbrivl/evaluation/report.py|{metrics[name]:.4f}|{paper.get(name, metrics[name]):.4f}|tests/evaluation/test_report.py
wavbrivl/training/embed_frames.py|for (sample, _), emb in zip(batch, embeds):|for (sample, _), emb in zip(batch, embeds[::-1]):|tests/training/test_embed_frames.py
wavbrivl/loading/official.py|{', '.join(keys[:3])}|{', '.join(keys[:2])}|tests/models/test_brivl_text.py::test_text_state_errors_name_the_problem
wavbrivl/volume.py|raise InputError(f"volume {shown!r}: expected|raise InputError(f"volume: expected|tests/frontend/test_app.py::test_bad_input_is_an_error_not_a_crash
wavbrivl/evaluation/datasets/desed.py|events=sorted(file_events)|events=file_events|tests/evaluation/test_eval_datasets.py
wavbrivl/evaluation/datasets/clotho.py|captions = [row[column] for column in CLOTHO_COLUMNS[1:]]|captions = [row[column] for column in CLOTHO_COLUMNS[:0:-1]]|tests/evaluation/test_eval_datasets.py
EOF
)

run_issue() {
  local work="$DIR/issue" out="$DIR/issue.md"
  echo "== issue: the hand-made breakages"
  scratch_copy "$work"
  printf '| file | change | tests | result |\n|---|---|---|---|\n' >"$out"
  while IFS='|' read -r file text replacement tests; do
    [ -n "$file" ] || continue
    cp "$work/$file" "$work/$file.orig"
    if ! "$PY" - "$work/$file" "$text" "$replacement" <<'EOF'; then
import sys
from pathlib import Path

path, text, replacement = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
source = path.read_text()
if source.count(text) != 1:
    sys.exit(f"{path}: {text!r} is found {source.count(text)} times, not once: the table needs updating")
path.write_text(source.replace(text, replacement))
EOF
      printf '| %s | `%s` → `%s` | %s | **not applied** (text not found once) |\n' \
        "$file" "$text" "$replacement" "$tests" >>"$out"
      continue
    fi
    local result
    # shellcheck disable=SC2086
    if (cd "$work" && "$PY" -m pytest -q -x -p no:cacheprovider -n "$JOBS" $tests >"$work/last.log" 2>&1); then
      result="**survived**"
    else
      failed=$(grep -m1 -oE '^FAILED [^ ]+' "$work/last.log" | sed 's/^FAILED //' || true)
      result="caught (${failed:-a test failed})"
    fi
    mv "$work/$file.orig" "$work/$file"
    printf '| %s | `%s` → `%s` | %s | %s |\n' "$file" "$text" "$replacement" "$tests" "$result" | tee -a "$out"
  done <<<"$ISSUE_TABLE"
}

mkdir -p "$DIR"
for arg in "$@"; do
  case "$arg" in
    all) for name in $ALL; do run_module "$name"; done ;;
    issue) run_issue ;;
    *)
      name=$(short_name "$arg") || {
        echo "unknown module $arg; one of: $ALL (or their paths), all, issue" >&2
        exit 2
      }
      run_module "$name"
      ;;
  esac
done
echo "results: $DIR/summary.md (mutmut), $DIR/issue.md (the issue's breakages), $DIR/NAME/survivors.diff"
