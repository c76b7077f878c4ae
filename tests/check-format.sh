#!/bin/sh
# Fails when a C source or header of the project is not formatted as .clang-format says.
# Usage: check-format.sh SOURCE_ROOT
set -eu
root=${1:?usage: check-format.sh SOURCE_ROOT}
cd "$root"
bad=0
for f in $(find probe tls report tests fixtures -name '*.[ch]' -not -path '*/build*' | sort); do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not clang-formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done
exit $bad
