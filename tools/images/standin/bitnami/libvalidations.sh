#!/bin/bash
# is_empty_value, as the bitnami chart's setup.sh uses it.
is_empty_value() { [ -z "${1:-}" ]; }
