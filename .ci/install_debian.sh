# Sourced by .ci/run (and by scripts/check_ci_install.sh, which tests it): defines install_debian.
#
#   install_debian PACKAGE[:COMMAND[,COMMAND...]]...
#
# Installs the Debian packages whose command is missing; a package counts as present when any of its commands is on
# PATH (or, for an absolute path, is executable). COMMAND defaults to the package name. Example:
#   install_debian dcmtk:dsrdump orthanc:Orthanc,/usr/sbin/Orthanc
# As root it runs apt-get itself (the project's machines); otherwise it runs it through `sudo -n` when passwordless
# sudo works (GitHub's runners, user `runner`); otherwise it prints one line saying what to install by hand and
# returns 1. `env DEBIAN_FRONTEND=noninteractive` is passed inside sudo because sudo drops the caller's environment.
install_debian() {
  local spec pkg cmds c found how missing=() alts as=()
  for spec in "$@"; do
    pkg=${spec%%:*}; cmds=${spec#*:}
    [ "$cmds" = "$spec" ] && cmds=$pkg
    IFS=, read -ra alts <<<"$cmds"
    found=
    for c in "${alts[@]}"; do
      if [[ $c == /* ]]; then [ -x "$c" ] && found=1
      else command -v "$c" >/dev/null 2>&1 && found=1; fi
    done
    [ -n "$found" ] || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then echo "debian packages: present ($*)"; return 0; fi
  if [ "$(id -u)" -eq 0 ]; then
    as=(env DEBIAN_FRONTEND=noninteractive); how="as root"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as=(sudo -n env DEBIAN_FRONTEND=noninteractive); how="through sudo -n"
  else
    echo "debian packages: not root and no passwordless sudo; install them by hand, then rerun: sudo apt-get install ${missing[*]}" >&2
    return 1
  fi
  echo "debian packages: apt-get install ${missing[*]} ($how)"
  "${as[@]}" apt-get update -qq && "${as[@]}" apt-get install -y -qq "${missing[@]}"
}
