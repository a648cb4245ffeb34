#!/usr/bin/env bash
# Builds the release and packs it as dist/datax-<version>-<target>.tar.gz, laid out as an
# install prefix:
#
#   bin/datax                   the engine (line tables kept, for backtraces)
#   bin/datax.py                DataX's launcher options, for schedulers (scripts/datax.py)
#   lib/datax/plugins/*.so      the plugins, stripped (datax looks in <exe>/../lib/datax/plugins)
#   share/datax/jobs/           the example jobs and data source files
#   share/doc/datax/            README, LICENSE, BENCHMARKS
#
# Unpack it anywhere (`tar -xzf … -C /opt`) and run bin/datax or bin/datax.py.
#
#   bash scripts/package.sh [--out DIR] [--from BUILD_DIR]
#
# --out: where the tarball goes (dist/). --from: pack the binaries already built in BUILD_DIR
# (e.g. target/debug, as the end-to-end test does) instead of building the release.
set -euo pipefail

out_dir=
built=
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out_dir=$(realpath -m "$2"); shift 2 ;;
        --from) built=$(realpath -m "$2"); shift 2 ;;
        *) echo "package.sh: unknown argument $1 (use --out DIR, --from BUILD_DIR)" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
out_dir=${out_dir:-$PWD/dist}
if [ -z "$built" ]; then
    cargo build --release --quiet -p datax-host -p datax-plugin-stream -p datax-plugin-odps \
        -p datax-plugin-loghub
    built=${CARGO_TARGET_DIR:-target}/release
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' host/Cargo.toml | head -n 1)
target=$(rustc -vV | sed -n 's/^host: //p')
name="datax-$version-$target"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
prefix="$scratch/$name"
mkdir -p "$prefix/bin" "$prefix/lib/datax/plugins" "$prefix/share/datax/jobs" \
    "$prefix/share/doc/datax"
install -m 0755 "$built/datax" "$prefix/bin/datax"
install -m 0755 scripts/datax.py "$prefix/bin/datax.py"
for plugin in "$built"/libdatax_stream.so "$built"/libdatax_odps.so \
    "$built"/libdatax_loghub.so; do
    install -m 0644 "$plugin" "$prefix/lib/datax/plugins/"
    # A plugin's panics name their plugin; its line tables are not worth 40 MiB a file.
    strip --strip-unneeded "$prefix/lib/datax/plugins/$(basename "$plugin")"
done
install -m 0644 jobs/*.json "$prefix/share/datax/jobs/"
install -m 0644 README.md LICENSE BENCHMARKS.md "$prefix/share/doc/datax/"

mkdir -p "$out_dir"
tar -C "$scratch" -czf "$out_dir/$name.tar.gz" "$name"
echo "$out_dir/$name.tar.gz"
