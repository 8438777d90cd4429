#!/bin/sh
# For the InfluxDB 2.x option only (deploy/influxdb-2.compose.yml). Runs once when the 2.x container initialises: maps database "city" / policy "autogen" to the
# bucket, so the InfluxQL /query endpoint (which our readers use on every server generation) finds it.
set -eu
bucket_id=$(influx bucket list --org "$DOCKER_INFLUXDB_INIT_ORG" --name "$DOCKER_INFLUXDB_INIT_BUCKET" --hide-headers | cut -f1)
influx v1 dbrp create --org "$DOCKER_INFLUXDB_INIT_ORG" --db city --rp autogen --bucket-id "$bucket_id" --default
