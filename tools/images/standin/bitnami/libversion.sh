#!/bin/bash
# get_sematic_version <version> <1|2|3>: the readiness probe's version parsing (bitnami's spelling).
get_sematic_version() {
  local IFS=.
  local -a parts
  read -r -a parts <<< "${1:-}"
  echo "${parts[$(( ${2:-1} - 1 ))]:-0}"
}
