#!/bin/bash
# Start the MongoDB server: FerretDB, configured from the bitnami environment (lib/ferretdb.js).
exec /usr/bin/node /opt/qmc-standin/standin.js mongodb
