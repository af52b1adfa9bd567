#!/bin/sh
# One image for both SageMaker contracts: `train` (training job) and `serve` (hosting, the reference model server).
set -eu
case "${1:-serve}" in
  train) exec node /opt/program/train.js ;;
  serve) exec node --enable-source-maps /opt/model-server/server.js ;;
  *) echo "unknown command '$1': expected train or serve" >&2; exit 64 ;;
esac
