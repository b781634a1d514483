#!/usr/bin/env bash
# Builds the library and runs one short benchmark in each way a machine with JDK 25 can point
# Maven at it, and checks that every way gives the same core jar. Also checks that a build
# which finds no JDK it can use stops at once with one line that says what to install.
#
#   bash scripts/check-jdk-setups.sh
#
# The setups: Maven on an older default JDK, finding 25 through toolchain discovery; JAVA_HOME
# at 25 with an older java and jar first on the PATH; 25 alone on the PATH. A setup this machine
# cannot offer (no JDK older than 25, say) is skipped with a line saying so.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

feature() { # the feature version of the JDK at $1, from its release file
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}
jdk25="" older=""
for home in /usr/lib/jvm/*/ ${JAVA_HOME:+"$JAVA_HOME/"}; do
    home="${home%/}"
    [ -x "$home/bin/javac" ] || continue
    v="$(feature "$home")"
    [ -n "$v" ] || continue
    if [ "$v" -ge 25 ]; then jdk25="${jdk25:-$home}"; else older="${older:-$home}"; fi
done
if [ -z "$jdk25" ]; then
    echo "check-jdk-setups: no JDK 25 on this machine; nothing to check" >&2
    exit 1
fi
default_java="$(readlink -f "$(command -v java)" 2>/dev/null || true)"
echo "JDK 25: $jdk25; older JDK: ${older:-none}; java on the PATH: ${default_java:-none}"

jmh_args='(ForwardTrainingBenchmark.forwardTraining|BandwidthBenchmark.copy)$ -p shape=8x64x16x16 -p variant=FUSED -p layout=NCHW -p threads=1 -p relu=false -f 1 -wi 0 -i 1 -r 100ms'
failures=0
build() { # name, then env assignments: builds core and jmh, runs one benchmark and the report
    local name="$1"; shift
    local dir="$work/$name"
    mkdir -p "$dir"
    (cd "$root" && tar --exclude=./.git --exclude='*/target' --exclude=./target -cf - .) | tar -xf - -C "$dir"
    echo "== $name: $*"
    if ! (cd "$dir" && env "$@" mvn -B -q -pl jmh -am package -DskipTests -Pquick \
            "-Djmh.args=$jmh_args" > "$dir/build.log" 2>&1); then
        echo "FAILED: $name (log below)"; tail -40 "$dir/build.log"; failures=$((failures + 1)); return
    fi
    local jar="$dir/core/target/batchnorm4j-core-0.1.0-SNAPSHOT.jar"
    # Entries with their CRC-32 (timestamps aside), the manifest, and the module descriptor as JDK 25 reads it.
    # The manifest may differ only in Build-Tool-Jdk-Spec, which names the JDK that ran Maven.
    unzip -v "$jar" | awk 'NR > 3 && length($7) == 8 && NF == 8 && $8 != "META-INF/MANIFEST.MF" { print $7, $8 }' \
        | sort > "$dir/entries.txt"
    unzip -p "$jar" META-INF/MANIFEST.MF | tr -d '\r' | grep -v '^Build-Tool-Jdk-Spec:' >> "$dir/entries.txt"
    "$jdk25/bin/jar" --describe-module --file "$jar" | sed '1s/ .*//' > "$dir/module.txt"
    [ -s "$dir/jmh/target/report/results.md" ] || { echo "FAILED: $name wrote no report"; failures=$((failures + 1)); return; }
    echo "ok: $(wc -l < "$dir/entries.txt") entries, module $(head -1 "$dir/module.txt")"
}

plain_path="$PATH"
if [ -n "$older" ]; then
    older_path="$older/bin:$plain_path"
    build maven-on-older -u JAVA_HOME "PATH=$older_path"
    build java-home-25 "JAVA_HOME=$jdk25" "PATH=$older_path"
else
    echo "skipped: Maven on an older JDK and JAVA_HOME at 25 beside an older java (no older JDK here)"
fi
build only-25 -u JAVA_HOME "PATH=$jdk25/bin:$plain_path"

built=()
for dir in "$work"/*/; do [ -s "$dir/entries.txt" ] && built+=("$dir"); done
for dir in "${built[@]:1}"; do
    for f in entries.txt module.txt; do
        if ! diff -q "${built[0]}/$f" "$dir/$f" > /dev/null; then
            echo "FAILED: $(basename "$dir") made a different core jar than $(basename "${built[0]}") ($f):"
            diff "${built[0]}/$f" "$dir/$f" | head -20; failures=$((failures + 1))
        fi
    done
done

# No usable JDK: asking for a feature version nobody has must fail at once with the one line.
echo "== no usable JDK (asks for JDK 99)"
out="$(cd "$root" && mvn -B -q validate -Djdk.feature=99 2>&1 || true)"
if grep -q "builds with JDK 99 or newer and none was found: install one" <<< "$out" \
        && ! grep -q "maven-toolchains-plugin\|maven-compiler-plugin" <<< "$out"; then
    echo "ok: $(grep -o 'batchnorm4j builds with JDK 99[^.]*' <<< "$out")"
else
    echo "FAILED: the build without a usable JDK said:"; echo "$out" | head -20; failures=$((failures + 1))
fi

if [ "$failures" -gt 0 ]; then
    echo "check-jdk-setups: $failures failure(s)"; exit 1
fi
echo "check-jdk-setups: every setup builds the same core jar"
