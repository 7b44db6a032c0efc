#!/usr/bin/env bash
# Regenerates the golden outputs of every corpus case with the real `flux-operator` CLI
# (built by test/oracles/flux-operator/build.sh). Review the diff before committing.
#
# A case is a folder under cases/ with rset.yaml, optionally inputs.yaml (--inputs-from)
# and providers.yaml (--inputs-from-provider). The golden files are golden.yaml (standard
# output) and, for cases that fail, golden.err (standard error; exit code 1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cli="$("${here}/../oracles/flux-operator/build.sh")"
cd "${here}/cases"
for c in */; do
  c="${c%/}"
  args=(build rset -f rset.yaml)
  [ -f "${c}/inputs.yaml" ] && args+=(--inputs-from inputs.yaml)
  [ -f "${c}/providers.yaml" ] && args+=(--inputs-from-provider providers.yaml)
  rm -f "${c}/golden.yaml" "${c}/golden.err"
  if (cd "${c}" && "${cli}" "${args[@]}" > golden.yaml 2> golden.err); then
    rm -f "${c}/golden.err"
  fi
  [ -s "${c}/golden.yaml" ] || rm -f "${c}/golden.yaml"
done
