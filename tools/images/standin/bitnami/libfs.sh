#!/bin/bash
# is_dir_empty, as the bitnami chart's setup.sh uses it.
is_dir_empty() { [ ! -d "$1" ] || [ -z "$(ls -A "$1" 2>/dev/null)" ]; }
