#!/bin/bash
# Log functions the bitnami chart's scripts call.
info() { printf 'mongodb INFO  ==> %s\n' "$*" >&2; }
warn() { printf 'mongodb WARN  ==> %s\n' "$*" >&2; }
error() { printf 'mongodb ERROR ==> %s\n' "$*" >&2; }
debug() { [ "${BITNAMI_DEBUG:-false}" = true ] && printf 'mongodb DEBUG ==> %s\n' "$*" >&2; return 0; }
