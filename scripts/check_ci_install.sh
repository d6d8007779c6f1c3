#!/usr/bin/env bash
# Checks .ci/install_debian.sh, the Debian-install step of .ci/run, with stub `sudo` and `apt-get` on PATH that record
# their arguments (nothing is installed):
#   1. as a non-root user with passwordless sudo (GitHub's runners): `sudo -n ... apt-get install` for the missing
#      package only;
#   2. as a non-root user whose sudo needs a password (a workstation): one line saying what to install, exit non-zero,
#      apt-get not run;
#   3. as root (the project's machines): apt-get directly, no sudo;
#   4. every command present: neither sudo nor apt-get is run.
# As root, cases 1 and 2 run as a throw-away user (useradd, removed on exit) through setpriv; as a non-root user they
# run as that user and case 3 is skipped.
#   bash scripts/check_ci_install.sh     # one line per case, then `check_ci_install: all N cases ok` (exit 0) or not
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d); user=
cleanup() { [ -n "$user" ] && userdel "$user" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
chmod 755 "$tmp"
cp "$root/.ci/install_debian.sh" "$tmp/install_debian.sh"
mkdir -p "$tmp/bin" "$tmp/log" && chmod 777 "$tmp/log"

# Stubs: each appends "<name> <args>" to $STUB_LOG. sudo answers `sudo -n true` with $STUB_SUDO_OK (1: passwordless
# sudo works, 0: a password would be needed) and runs any other command itself, as the caller.
cat >"$tmp/bin/sudo" <<'EOF'
#!/bin/bash
echo "sudo $*" >>"$STUB_LOG"
[ "$1" = -n ] || { echo "stub sudo: expected -n first" >&2; exit 1; }
shift
if [ "$*" = true ]; then [ "$STUB_SUDO_OK" = 1 ]; exit; fi
[ "$STUB_SUDO_OK" = 1 ] || { echo "sudo: a password is required" >&2; exit 1; }
exec "$@"
EOF
cat >"$tmp/bin/apt-get" <<'EOF'
#!/bin/bash
echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >>"$STUB_LOG"
EOF
chmod 755 "$tmp/bin/sudo" "$tmp/bin/apt-get"

# A package that is surely missing, and one whose command is present (bash), which must not be installed.
pkgs=(spine-osteo-no-such-pkg:spine-osteo-no-such-cmd,/nonexistent/spine-osteo-cmd bash:/bin/bash,bash)

# run_as WHO SUDO_OK CASE: run install_debian "${pkgs[@]}" as WHO (self, or a user name), log in $tmp/log/CASE.*
run_as() {
  local who=$1 ok=$2 case=$3 pre=()
  : >"$tmp/log/$case.calls"; chmod 666 "$tmp/log/$case.calls"
  if [ "$who" != self ]; then pre=(setpriv --reuid="$who" --regid="$(id -g "$who")" --clear-groups); fi
  ${pre[@]+"${pre[@]}"} env -i PATH="$tmp/bin:/usr/bin:/bin" HOME="$tmp" STUB_LOG="$tmp/log/$case.calls" \
    STUB_SUDO_OK="$ok" bash -c 'set -uo pipefail; . "$1"; shift; install_debian "$@"' _ "$tmp/install_debian.sh" \
    "${pkgs[@]}" >"$tmp/log/$case.out" 2>&1
  echo $? >"$tmp/log/$case.rc"
}

passed=0; failed=0
check() {  # check NAME CONDITION-STATUS DETAIL-FILE-PREFIX
  if [ "$2" -eq 0 ]; then passed=$((passed+1)); echo "ok   $1"
  else failed=$((failed+1)); echo "FAIL $1"; sed 's/^/     | /' "$3.out" "$3.calls" 2>/dev/null; fi
}
has() { grep -qxF -- "$2" "$tmp/log/$1.calls"; }
no() { ! grep -q -- "$2" "$tmp/log/$1.calls"; }
install_line="apt-get install -y -qq spine-osteo-no-such-pkg DEBIAN_FRONTEND=noninteractive"

if [ "$(id -u)" -eq 0 ]; then
  user="spine-ci-$$"
  useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" || { echo "FAIL useradd $user"; user=; exit 1; }
  nonroot=$user; echo "non-root cases run as the throw-away user $user (uid $(id -u "$user"))"
else
  nonroot=self; echo "non-root cases run as $(id -un) (uid $(id -u)); the root case is skipped"
fi

# 1. non-root, passwordless sudo: sudo -n for update and install, the present package left alone
run_as "$nonroot" 1 sudo_ok
c=sudo_ok
[ "$(cat "$tmp/log/$c.rc")" -eq 0 ] && has $c "sudo -n true" \
  && has $c "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq" \
  && has $c "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spine-osteo-no-such-pkg" \
  && has $c "$install_line" && no $c " bash"
r=$?; check "non-root, passwordless sudo: sudo -n apt-get install spine-osteo-no-such-pkg" $r "$tmp/log/$c"

# 2. non-root, sudo wants a password: exactly one line naming the package, non-zero, apt-get never run
run_as "$nonroot" 0 sudo_no
c=sudo_no
[ "$(cat "$tmp/log/$c.rc")" -ne 0 ] && [ "$(wc -l <"$tmp/log/$c.out")" -eq 1 ] \
  && grep -q "install them by hand.*apt-get install spine-osteo-no-such-pkg$" "$tmp/log/$c.out" && no $c "^apt-get"
r=$?; check "non-root, no passwordless sudo: one line ($(head -n1 "$tmp/log/$c.out" | cut -c1-60)...), exit $(cat "$tmp/log/$c.rc")" $r "$tmp/log/$c"

# 3. root: apt-get directly, sudo never called
if [ "$(id -u)" -eq 0 ]; then
  run_as self 1 root
  c=root
  [ "$(cat "$tmp/log/$c.rc")" -eq 0 ] && no $c "^sudo" && has $c "apt-get update -qq DEBIAN_FRONTEND=noninteractive" \
    && has $c "$install_line"
  r=$?; check "root: apt-get install without sudo" $r "$tmp/log/$c"
fi

# 4. everything present: nothing run
pkgs=(bash:bash coreutils:/bin/ls)
run_as "$nonroot" 1 present
c=present
[ "$(cat "$tmp/log/$c.rc")" -eq 0 ] && [ ! -s "$tmp/log/$c.calls" ]
r=$?; check "all commands present: neither sudo nor apt-get run" $r "$tmp/log/$c"

# (not the `N passed, M failed` form: that line is reserved for .ci/run's closing line about the notebooks)
if [ "$failed" -eq 0 ]; then echo "check_ci_install: all $passed cases ok"; else echo "check_ci_install: $failed of $((passed+failed)) cases FAILED"; exit 1; fi
