#!/usr/bin/env bash
# Applies each named safety mutant of mutants.txt, one at a time, runs the tests, and reports which
# tests kill it. Exits non-zero if any mutant survives (or no longer applies exactly once).
#
#   ha-sim/mutants/run.sh                 every mutant (a baseline run first)
#   ha-sim/mutants/run.sh NAME...         only these
#   ha-sim/mutants/run.sh --check         only check that every snippet occurs exactly once
#   ha-sim/mutants/run.sh --list          the mutants' names and checks
#
# Options: --no-baseline (skip the unmutated run), --full (also FuzzTest and MainTest, minutes
# more per mutant). Needs bash, perl and Maven with the dependencies in the local repository
# (run `mvn -B -ntp -pl ha-common,ha-sim -am install -DskipTests` once). The mutated file is always
# restored, also on Ctrl-C. Logs: ha-sim/target/mutants/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
defs="$here/mutants.txt"
out="$root/ha-sim/target/mutants"
cd "$root"

baseline=1
full=0
mode=run
names=()
while [ $# -gt 0 ]; do
    case "$1" in
        --check) mode=check ;;
        --list) mode=list ;;
        --no-baseline) baseline=0 ;;
        --full) full=1 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) names+=("$1") ;;
    esac
    shift
done

# ---------------------------------------------------------------- the definitions

# mutant NAME FIELD: prints one field of a mutant (file, check, find, replace); names: every name.
mutant() {
    perl -e '
        my ($want, $field, $path) = @ARGV;
        open(my $f, "<", $path) or die "cannot read $path: $!\n";
        my (%m, $name, $in, %seen);
        while (my $line = <$f>) {
            chomp $line;
            if (defined $in) {
                if ($line eq "--- end") { $in = undef; next; }
                if ($line eq "--- replace") { $in = "replace"; $m{$name}{replace} = ""; next; }
                $m{$name}{$in} .= (length $m{$name}{$in} || $m{$name}{"n_$in"}++ ? "\n" : "") . $line;
                next;
            }
            if ($line =~ /^=== (\S+)\s*$/) { $name = $1; die "mutant $name defined twice\n" if $seen{$name}++; $m{$name}{order} = scalar keys %seen; next; }
            if ($line =~ /^(file|check): (.*)$/ && defined $name) { $m{$name}{$1} = $2; next; }
            if ($line eq "--- find" && defined $name) { $in = "find"; $m{$name}{find} = ""; next; }
            next if $line =~ /^\s*(#.*)?$/;
            die "mutants.txt: cannot read line: $line\n";
        }
        if ($want eq "") {
            print join("\n", sort { $m{$a}{order} <=> $m{$b}{order} } keys %m), "\n";
            exit 0;
        }
        die "no mutant named $want\n" unless $m{$want};
        for my $k (qw(file check find replace)) {
            die "mutant $want has no $k\n" unless defined $m{$want}{$k};
        }
        print $m{$want}{$field};
    ' "$1" "${2:-}" "$defs"
}

# apply NAME: replaces the snippet in its file; fails unless it occurs exactly once.
apply() {
    local name="$1" file
    file="$(mutant "$name" file)"
    [ -f "$file" ] || { echo "mutant $name: no file $file" >&2; return 1; }
    mutant "$name" find > "$tmp/find"
    mutant "$name" replace > "$tmp/replace"
    perl -e '
        my ($file, $findf, $replf, $name, $dry) = @ARGV;
        local $/;
        open(my $a, "<", $findf) or die; my $find = <$a>;
        open(my $b, "<", $replf) or die; my $repl = <$b>;
        open(my $c, "<", $file) or die "cannot read $file\n"; my $text = <$c>; close $c;
        my $count = () = $text =~ /\Q$find\E/g;
        die "mutant $name: its snippet occurs $count times in $file, not once (the code moved on: update mutants.txt)\n"
            unless $count == 1;
        exit 0 if $dry;
        my $at = index($text, $find);
        substr($text, $at, length $find) = $repl;
        open(my $d, ">", $file) or die "cannot write $file\n"; print $d $text; close $d;
    ' "$file" "$tmp/find" "$tmp/replace" "$name" "${2:-}"
}

tmp="$(mktemp -d)"
applied=""          # the file a mutant is applied to now, restored from $tmp/original
restore() {
    if [ -n "$applied" ]; then
        cat "$tmp/original" > "$applied"   # a fresh mtime, so the next build recompiles it
        applied=""
    fi
}
child=""            # the test run in flight
cleanup() {
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    restore
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "interrupted: restoring the mutated file" >&2; exit 130' INT TERM

all=()
while IFS= read -r n; do all+=("$n"); done < <(mutant "" "")
if [ ${#names[@]} -eq 0 ]; then
    names=("${all[@]}")
fi

case "$mode" in
    list)
        for n in "${names[@]}"; do printf '%-40s %s\n' "$n" "$(mutant "$n" check)"; done
        exit 0 ;;
    check)
        bad=0
        for n in "${names[@]}"; do
            if apply "$n" dry; then echo "ok       $n"; else bad=1; fi
        done
        exit $bad ;;
esac

# ---------------------------------------------------------------- running the tests

# failing tests do not stop the build, so that ha-sim's tests run even when ha-common's fail
tests=(-Dmaven.test.failure.ignore=true -Dtest='!FuzzTest,!MainTest' -Dsurefire.failIfNoSpecifiedTests=false)
if [ $full = 1 ]; then
    tests=(-Dmaven.test.failure.ignore=true)
fi
mkdir -p "$out"

# runtests LOG: runs the tests of ha-common and ha-sim; sets $failing to the failing tests, one a
# line, and $rc to Maven's exit code. (Not in a subshell: Ctrl-C must reach the trap at once.)
runtests() {
    local log="$1"
    rc=0
    rm -rf ha-common/target/surefire-reports ha-sim/target/surefire-reports
    # in the background, so that Ctrl-C stops it at once (the INT trap ends it and restores the file)
    timeout 1800 mvn -o -q -B test -pl ha-common,ha-sim "${tests[@]}" > "$log" 2>&1 &
    child=$!
    wait "$child" || rc=$?
    child=""
    failing="$(SCENARIOS="$(cd ha-sim/scenarios && ls -1 -- *.yaml | LC_ALL=C sort | paste -sd ' ' -)" perl -e '
        my @scen = split / /, ($ENV{SCENARIOS} // "");
        for my $f (@ARGV) {
            local $/; open(my $h, "<", $f) or next; my $x = <$h>;
            while ($x =~ /<testcase\b([^>]*?)(\/>|>(.*?)<\/testcase>)/gs) {
                my ($attrs, $body) = ($1, $3 // "");
                next unless $body =~ /<(failure|error)\b/;
                my ($name) = $attrs =~ /\bname="([^"]*)"/;
                my ($class) = $attrs =~ /\bclassname="([^"]*)"/;
                $class =~ s/.*\.//;
                # a scenario run is named by its place in the sorted list of files: name the file
                if ($class eq "ScenarioFilesTest" && $name =~ /\[(\d+)\]$/ && defined $scen[$1 - 1]) {
                    $name = $scen[$1 - 1];
                }
                print "$class.$name\n";
            }
        }
    ' ha-common/target/surefire-reports/TEST-*.xml ha-sim/target/surefire-reports/TEST-*.xml 2>/dev/null | sort -u)"
}

secs() { date +%s; }
start_all=$(secs)

if [ $baseline = 1 ]; then
    echo "baseline: the tests without any mutant ..."
    t0=$(secs)
    runtests "$out/baseline.log"
    if [ $rc != 0 ] || [ -n "$failing" ]; then
        echo "the tests fail without any mutant; fix them first (log: $out/baseline.log)" >&2
        echo "$failing" >&2
        exit 2
    fi
    echo "baseline passes ($(( $(secs) - t0 )) s)"
fi

results=()
survived=0
for n in "${names[@]}"; do
    file="$(mutant "$n" file)"
    printf '%-40s ' "$n"
    t0=$(secs)
    cp "$file" "$tmp/original"
    if ! apply "$n" 2> "$tmp/err"; then
        echo "DOES NOT APPLY: $(cat "$tmp/err")"
        results+=("$n|DOES NOT APPLY")
        survived=1
        continue
    fi
    applied="$file"
    runtests "$out/$n.log"
    restore
    took=$(( $(secs) - t0 ))
    if [ -n "$failing" ]; then
        killers="$(echo "$failing" | paste -sd ' ' -)"
        echo "killed by $(echo "$failing" | wc -l | tr -d ' ') test(s) (${took} s)"
        results+=("$n|killed by: $killers")
    elif [ $rc = 124 ]; then
        echo "killed: the tests timed out (${took} s)"
        results+=("$n|killed: the tests timed out")
    elif [ $rc != 0 ]; then
        if grep -q "COMPILATION ERROR" "$out/$n.log"; then
            echo "DOES NOT COMPILE (${took} s): fix the mutant; log $out/$n.log"
            results+=("$n|DOES NOT COMPILE")
            survived=1
        else
            echo "killed: the build failed without a failing test (${took} s); log $out/$n.log"
            results+=("$n|killed: build failed (see log)")
        fi
    else
        echo "SURVIVED (${took} s)"
        results+=("$n|SURVIVED")
        survived=1
    fi
done

# leave the build output as the sources are
mvn -o -q -B compile -pl ha-common > "$out/restore.log" 2>&1 || echo "note: recompiling ha-common failed; see $out/restore.log" >&2

echo
echo "| mutant | check it removes | result |"
echo "|---|---|---|"
for r in "${results[@]}"; do
    n="${r%%|*}"
    printf '| %s | %s | %s |\n' "$n" "$(mutant "$n" check)" "${r#*|}"
done
echo
echo "$(( $(secs) - start_all )) s in all; logs in $out"
if [ $survived = 1 ]; then
    echo "some mutants survived or did not apply" >&2
    exit 1
fi
