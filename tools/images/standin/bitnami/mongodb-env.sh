#!/bin/bash
# The environment defaults of the bitnami MongoDB image that its chart's setup.sh reads.
export MONGODB_PORT_NUMBER="${MONGODB_PORT_NUMBER:-27017}"
export MONGODB_VOLUME_DIR="${MONGODB_VOLUME_DIR:-/bitnami/mongodb}"
export MONGODB_DATA_DIR="${MONGODB_DATA_DIR:-$MONGODB_VOLUME_DIR/data}"
export MONGODB_ROOT_USER="${MONGODB_ROOT_USER:-root}"
