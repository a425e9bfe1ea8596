#!/usr/bin/env bash
# Regenerates the dashboard's vendored chart library from npm: installs the
# exact version in package-lock.json into a scratch folder (so no
# node_modules lands in web/, which the sidecar embeds) and copies the
# built files and the license here. To move to a new version, change it in
# package.json, run `npm install --package-lock-only --ignore-scripts` here,
# then this script, and commit all four files that change.
set -euo pipefail
cd "$(dirname "$0")"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp package.json package-lock.json "$scratch"
(cd "$scratch" && npm ci --ignore-scripts --no-audit --no-fund)
dist="$scratch/node_modules/uplot/dist"
cp "$dist/uPlot.iife.min.js" "$dist/uPlot.min.css" .
cp "$scratch/node_modules/uplot/LICENSE" uPlot.LICENSE.txt
ls -l uPlot.*
