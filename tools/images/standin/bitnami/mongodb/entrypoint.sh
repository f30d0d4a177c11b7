#!/bin/bash
# The bitnami image's entrypoint: here it runs its argument (run.sh), as bitnami's does after setup.
. /opt/bitnami/scripts/mongodb-env.sh
exec "$@"
