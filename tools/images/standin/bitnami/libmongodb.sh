#!/bin/bash
# libmongodb.sh for init scripts: FerretDB v1 has no roles, so init scripts are not run (the MongoDB
# stand-in says so in its log); sourcing this file only gives the log functions.
. /opt/bitnami/scripts/liblog.sh
. /opt/bitnami/scripts/libvalidations.sh
