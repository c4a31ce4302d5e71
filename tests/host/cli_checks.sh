# Checks shared by the CLI test scripts (test_cli*.sh; sourced, not run).
# The sourcing script sets UDFU and TMP, and may set VG (a command prefix,
# e.g. valgrind) for every udfu run. Counts go to $checks and $fails.
checks=0
fails=0
[ -n "${VG+x}" ] || VG=()

fail() { echo "  FAIL: $*" >&2; fails=$((fails + 1)); }
# expect CODE COMMAND...: runs udfu, checks the exit code; output in $TMP/out, $TMP/err
expect() {
  local want=$1; shift
  checks=$((checks + 1))
  "${VG[@]}" "$UDFU" "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "udfu $* exited $got, expected $want: $(cat "$TMP/err")"
}
# has FILE TEXT: the file contains TEXT
has() {
  checks=$((checks + 1))
  grep -qF -- "$2" "$1" || fail "$1 lacks \"$2\": $(head -c 400 "$1")"
}
# lacks FILE TEXT: the file does not contain TEXT
lacks() {
  checks=$((checks + 1))
  grep -qF -- "$2" "$1" && fail "$1 has \"$2\": $(grep -F -- "$2" "$1" | head -3)"
  return 0
}
# same FILE FILE: identical contents
same() {
  checks=$((checks + 1))
  cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

# The virtual device (test_cli_virtual*.sh). virtual_start BINARY ARGS...
# starts a udfu-virtual build on a free port with its log in
# $TMP/virtual.log (stopping the one running, if any) and points udfu at it
# (UDFU_USBIP); the script ends if it does not start. virtual_stop stops it.
VPID=
virtual_stop() {
  [ -n "$VPID" ] && kill "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null
  VPID=
}
virtual_start() {
  local port
  virtual_stop
  "$@" --port 0 >"$TMP/virtual.log" 2>&1 &
  VPID=$!
  for _ in $(seq 100); do grep -q "listening on" "$TMP/virtual.log" && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$TMP/virtual.log")
  [ -n "$port" ] || { echo "$1 did not start: $(cat "$TMP/virtual.log")"; exit 1; }
  export UDFU_USBIP="127.0.0.1:$port"
}
