#!/usr/bin/env bash
# Every long option a program prints in its --help must appear in its man page (roff, plain or
# gzipped), so the two cannot drift apart. Used by ctest (build tree) and .ci/package.sh (installed).
# Usage: bash .ci/check-man-pages.sh BIN_DIR MAN_DIR
set -euo pipefail
bin_dir=$1
man_dir=$2

status=0
for program in commyd commyctl commy-monitor; do
    page=$man_dir/$program.1
    if [ -f "$page.gz" ]; then
        text=$(gzip -dc "$page.gz")
    elif [ -f "$page" ]; then
        text=$(cat "$page")
    else
        echo "check-man-pages: no man page for $program in $man_dir" >&2
        status=1
        continue
    fi
    # roff writes a literal hyphen as \- and a font change as \fB...\fR.
    text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' <<<"$text")
    # QT_QPA_PLATFORM: commy-monitor is a GUI program; its --help needs no display.
    options=$(QT_QPA_PLATFORM=offscreen "$bin_dir/$program" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
    [ -n "$options" ] || { echo "check-man-pages: $program --help shows no options" >&2; status=1; }
    missing=0
    for option in $options; do
        if ! grep -qE -- "(^|[^a-z0-9-])$option([^a-z0-9-]|$)" <<<"$text"; then
            echo "check-man-pages: $program.1 does not describe $option" >&2
            missing=$((missing + 1))
        fi
    done
    [ "$missing" -eq 0 ] || status=1
    echo "check-man-pages: $program: $(wc -w <<<"$options") options in --help, $missing missing from $program.1"
done
exit "$status"
