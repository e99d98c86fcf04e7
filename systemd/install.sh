#!/usr/bin/env bash
# Installs (or upgrades) plantsync: the single binary, the systemd unit, the plantsync user, and an example config
# when there is none. An existing config, conf.d/ and the spool are never touched. Run as root on the gateway:
#   sudo systemd/install.sh --yes [--binary dist/plantsync] [--config FILE] [--examples] [--start]
# Without --yes it only says what it would create. --examples also puts docs/examples/conf.d/*.json into conf.d/
# (each only if no file of that name is there). DESTDIR=/some/root installs into a staging tree (packaging, tests):
# no user, no systemctl, no --yes needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$here/../dist/plantsync"
example="$here/../docs/examples/plantsync.json"
start=no
yes=no
examples=no
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --config) example="$2"; shift 2 ;;
    --start) start=yes; shift ;;
    --yes) yes=yes; shift ;;
    --examples) examples=yes; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
root="${DESTDIR:-}"
[ -x "$binary" ] || { echo "install.sh: no executable at $binary (build it with: npm run package)" >&2; exit 2; }
if [ -z "$root" ] && [ "$yes" != yes ]; then
  # On the machine itself (no staging folder): say what would change, and change nothing without --yes.
  cat >&2 <<EOF2
install.sh would install plantsync on this machine:
  /usr/local/bin/plantsync                 the binary (replaced by rename; a running agent keeps its old file)
  /etc/systemd/system/plantsync.service    the unit (enabled; restarted if it runs)
  /etc/plantsync/plantsync.json            an example config, only if there is none
  /etc/plantsync/conf.d/                   $( [ "$examples" = yes ] && echo "with the example fragments (--examples)" || echo "empty unless it exists (--examples adds the example fragments)" )
  user plantsync, /var/lib/plantsync, /var/cache/plantsync
Run it again as root with --yes to do it, or with DESTDIR=/some/folder to stage it there.
EOF2
  exit 2
fi
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then echo "install.sh: run as root (or set DESTDIR)" >&2; exit 2; fi

install -d "$root/usr/local/bin" "$root/etc/systemd/system" "$root/etc/plantsync/conf.d"
# Replace the binary by rename, so a running agent keeps its old file until it restarts.
install -m 0755 "$binary" "$root/usr/local/bin/.plantsync.new"
mv -f "$root/usr/local/bin/.plantsync.new" "$root/usr/local/bin/plantsync"
install -m 0644 "$here/plantsync.service" "$root/etc/systemd/system/plantsync.service"
if [ -e "$root/etc/plantsync/plantsync.json" ]; then
  echo "kept the existing /etc/plantsync/plantsync.json"
else
  [ -f "$example" ] || { echo "install.sh: no config at /etc/plantsync/plantsync.json and no example at $example (give --config FILE)" >&2; exit 2; }
  install -m 0640 "$example" "$root/etc/plantsync/plantsync.json"
  echo "installed an example /etc/plantsync/plantsync.json: edit it for this gateway (README: Configure)"
fi
if [ "$examples" = yes ]; then
  for f in "$here"/../docs/examples/conf.d/*.json; do
    name="$(basename "$f")"
    if [ -e "$root/etc/plantsync/conf.d/$name" ]; then echo "kept the existing conf.d/$name"; else install -m 0640 "$f" "$root/etc/plantsync/conf.d/$name" && echo "installed the example conf.d/$name"; fi
  done
fi

if [ -n "$root" ]; then
  echo "installed into $root (no user, no systemctl)"
  exit 0
fi
if ! id plantsync >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/plantsync --no-create-home --shell /usr/sbin/nologin plantsync
  echo "created user plantsync"
fi
chown -R root:plantsync /etc/plantsync
chmod 0750 /etc/plantsync /etc/plantsync/conf.d
# systemd makes these for the unit (StateDirectory, CacheDirectory); made here too, so `sudo -u plantsync plantsync
# ...` works before the first start (the user's home is the state directory).
install -d -o plantsync -g plantsync -m 0750 /var/lib/plantsync /var/cache/plantsync
/usr/local/bin/plantsync version
if /usr/local/bin/plantsync config validate /etc/plantsync/plantsync.json; then valid=yes; else valid=no; fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable plantsync.service
  if systemctl is-active --quiet plantsync.service; then
    systemctl restart plantsync.service && echo "upgraded: plantsync restarted on the new binary"
  elif [ "$start" = yes ] && [ "$valid" = yes ]; then
    systemctl start plantsync.service && echo "plantsync started"
  else
    echo "enabled; start it with: systemctl start plantsync"
  fi
else
  echo "systemd is not running here: the unit is installed but not enabled"
fi
