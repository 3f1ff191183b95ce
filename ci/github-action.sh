#!/usr/bin/env bash
# The check step of kcpu's GitHub Action (action.yml): runs `kcpu check` once and writes
#   - the log in INPUT_FORMAT (default `github`: annotations on the pull request's diff),
#   - SARIF to INPUT_SARIF_FILE for code scanning,
#   - the Markdown summary appended to $GITHUB_STEP_SUMMARY,
# sets the outputs `exit-code` and `sarif-file`, and exits with kcpu's exit code
# (0 clean, 1 findings at or above fail-on, 2 input or usage error).
set -uo pipefail

paths=()
if [[ "${INPUT_PATHS:-.}" == *$'\n'* ]]; then
  # One path per line (paths containing spaces).
  while IFS= read -r line; do
    [[ -n "${line//[[:space:]]/}" ]] && paths+=("$line")
  done <<< "$INPUT_PATHS"
else
  read -r -a paths <<< "${INPUT_PATHS:-.}"
fi
[ ${#paths[@]} -gt 0 ] || paths=(.)

args=(check --format "${INPUT_FORMAT:-github}")
[ -n "${INPUT_POLICY:-}" ] && args+=(--policy "$INPUT_POLICY")
[ -n "${INPUT_FAIL_ON:-}" ] && args+=(--fail-on "$INPUT_FAIL_ON")
sarif=${INPUT_SARIF_FILE:-kcpu.sarif}
args+=(--report "sarif=$sarif")
summary=$(mktemp)
args+=(--report "markdown=$summary")
if [ -n "${INPUT_ARGS:-}" ]; then
  read -r -a extra <<< "$INPUT_ARGS"
  args+=("${extra[@]}")
fi

"${KCPU:-kcpu}" "${args[@]}" -- "${paths[@]}"
rc=$?

if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$summary" ]; then
  cat "$summary" >> "$GITHUB_STEP_SUMMARY"
fi
rm -f "$summary"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "exit-code=$rc" >> "$GITHUB_OUTPUT"
  [ -f "$sarif" ] && echo "sarif-file=$sarif" >> "$GITHUB_OUTPUT"
fi
exit "$rc"
