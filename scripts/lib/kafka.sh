# shellcheck shell=bash
# scripts/lib/kafka.sh, sourced by scripts/kafka and scripts/kafka-cluster: the
# Kafka install, tool JVMs, launching and stopping broker JVMs, and kafkaprobe.
#  - The only reachable download source is Maven Central, so Kafka is assembled
#    from org.apache.kafka:kafka_2.13 and its runtime dependencies with the
#    machine's mvn (kafka-config/pom.xml), not from the release tarball.
#  - Everything lives in a cache dir outside the repo: CI and developers pay
#    for the download once per machine and the work tree stays clean.
#  - Probes are Go (scripts/kafkaprobe) and connect through internal/kafka, so
#    a listener the scripts call ready is one headcount's TLS and SASL can use.

# mvn (for ~/.m2) and the cache default both need HOME; some CI runners unset it.
if [[ -z "${HOME:-}" ]]; then
  HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
  export HOME
fi
KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
# The slf4j binding for log4j2: Kafka publishes none in its POMs (the tarball
# adds one), and without it every JVM logs nothing.
LOG4J_VERSION="${KAFKA_LOG4J_VERSION:-2.25.3}"
# Pinned: Maven 3.8.7 would otherwise pick the ancient 2.8 from its super-POM.
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
CACHE_ROOT="${HEADCOUNT_CACHE:-${HOME}/.cache/headcount}"
KAFKA_HOME_DIR="${CACHE_ROOT}/kafka-${KAFKA_VERSION}"
LIBS_DIR="${KAFKA_HOME_DIR}/libs"
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONFIG_DIR="${REPO_DIR}/scripts/lib/kafka-config"
SERVER_CLASS="kafka.Kafka"
# shellcheck disable=SC2034 # used by the scripts that source this file
FORMAT_CLASS="kafka.tools.StorageTool" TOPICS_CLASS="org.apache.kafka.tools.TopicCommand"

log() { printf '%s: %s\n' "${LOG_NAME:-kafka}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
    printf '%s\n' "${JAVA_HOME}/bin/java"
  else
    command -v java || die "java not found: Kafka ${KAFKA_VERSION} needs Java 17 or newer (set JAVA_HOME or put java on PATH)"
  fi
}

# Kafka 4 refuses Java < 17: say so instead of an UnsupportedClassVersionError.
check_java() {
  local java major
  java="$(java_bin)"
  major="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
  major="${major#1.}"
  [[ "$major" =~ ^[0-9]+$ ]] || die "cannot tell the version of $java"
  ((major >= 17)) || die "$java is Java $major; Kafka ${KAFKA_VERSION} needs Java 17 or newer (set JAVA_HOME)"
}

# tool CLASS ARGS: a short-lived tool JVM (C1 only and serial GC start faster
# on 2 cores; warnings only, on stderr, so stdout can be parsed).
tool() {
  is_installed || die "Kafka ${KAFKA_VERSION} is not installed; run: scripts/kafka install"
  "$(java_bin)" -Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="${KAFKA_HOME_DIR}/config/tools-log4j2.properties" -cp "${LIBS_DIR}/*" "$@"
}

# The pom (a project that only names what to fetch; Maven resolves the runtime
# closure as Kafka's build does), with the versions filled in.
pom() { sed -e "s/\${KAFKA_VERSION}/${KAFKA_VERSION}/g" -e "s/\${LOG4J_VERSION}/${LOG4J_VERSION}/g" "${CONFIG_DIR}/pom.xml"; }

# The install marker holds the pom's hash: a changed pom re-installs by itself.
is_installed() { [[ -d "$LIBS_DIR" && "$(cat "${KAFKA_HOME_DIR}/.installed" 2>/dev/null)" == "$(pom | sha256sum | cut -d' ' -f1)" ]]; }

install_kafka() {
  if is_installed; then
    log "Kafka ${KAFKA_VERSION} already installed in ${KAFKA_HOME_DIR}"
    return 0
  fi
  check_java
  command -v mvn >/dev/null 2>&1 || die "mvn not found: it is needed to fetch Kafka from Maven Central (apt-get install maven)"
  mkdir -p "$KAFKA_HOME_DIR"
  exec 8>"${KAFKA_HOME_DIR}/.install.lock" # parallel installs must not interleave
  flock 8
  is_installed && return 0
  log "installing Kafka ${KAFKA_VERSION} from Maven Central into ${KAFKA_HOME_DIR} ..."
  rm -f "${KAFKA_HOME_DIR}/.installed"
  pom >"${KAFKA_HOME_DIR}/pom.xml"
  local staging="${KAFKA_HOME_DIR}/libs.partial" mvn_log="${KAFKA_HOME_DIR}/install.log" attempt
  # A cold fetch is ~100 files (10-70 s): a transient failure is retried, and
  # what is in ~/.m2 is not fetched again. -B, </dev/null: no progress bars,
  # no prompts; includeScope=runtime: only the jars Kafka ships.
  for attempt in 1 2 3; do
    rm -rf "$staging"
    mvn -B -q -f "${KAFKA_HOME_DIR}/pom.xml" -Dmaven.wagon.http.retryHandler.count=3 "${DEP_PLUGIN}:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$staging" </dev/null >"$mvn_log" 2>&1 && break
    log "mvn attempt ${attempt} failed"
    ((attempt < 3)) && sleep $((attempt * 5))
  done
  if [[ ! -f "${staging}/kafka_2.13-${KAFKA_VERSION}.jar" ]]; then
    tail -n 40 "$mvn_log" >&2 || true
    die "mvn failed to fetch Kafka ${KAFKA_VERSION}; full log: ${mvn_log}"
  fi
  rm -rf "$LIBS_DIR"
  mv "$staging" "$LIBS_DIR"
  mkdir -p "${KAFKA_HOME_DIR}/config"
  cp "${CONFIG_DIR}"/*.properties "${KAFKA_HOME_DIR}/config/"
  pom | sha256sum | cut -d' ' -f1 >"${KAFKA_HOME_DIR}/.installed" # last: complete
  log "installed Kafka ${KAFKA_VERSION} ($(find "$LIBS_DIR" -name '*.jar' | wc -l) jars)"
}

# probe ARGS: scripts/kafkaprobe, built once per run, one binary per work tree
# (replaced atomically, so parallel runs never run a half-written one).
PROBE=""
probe() {
  if [[ -z "$PROBE" ]]; then
    PROBE="${CACHE_ROOT}/bin/kafkaprobe-$(printf '%s' "$REPO_DIR" | sha256sum | cut -c1-12)"
    mkdir -p "${CACHE_ROOT}/bin"
    (cd "$REPO_DIR" && go build -o "${PROBE}.$$" ./scripts/kafkaprobe) || die "building scripts/kafkaprobe failed"
    mv -f "${PROBE}.$$" "$PROBE"
  fi
  "$PROBE" "$@"
}

# Like kill -0, but a zombie (our exited child, not yet reaped) is dead.
alive() {
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# broker_pid PROPS PIDFILE: the pid of the broker JVM running PROPS. Its command
# line must name PROPS, so a recycled pid or another Kafka is never taken for
# ours; a lost pid file falls back to a scan of /proc.
broker_pid() {
  local pid f
  for f in "$2" /proc/[0-9]*/cmdline; do
    if [[ "$f" == "$2" ]]; then
      pid="$(cat "$f" 2>/dev/null)" || continue
    else
      pid="${f#/proc/}" pid="${pid%/cmdline}"
    fi
    if [[ "$pid" =~ ^[0-9]+$ && "$(tr '\0' ' ' 2>/dev/null <"/proc/${pid}/cmdline")" == *" ${SERVER_CLASS} $1 "* ]]; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

# launch PROPS PIDFILE LOGFILE JVM_FLAGS: starts a broker JVM and sets PID.
# setsid: its own session, so it outlives this script and a Ctrl-C in the
# caller's terminal does not reach it. The inner shell writes its pid before
# exec'ing java, so the pid file names the JVM. The lock fds are closed, or
# the broker would hold the locks forever.
launch() {
  local java i
  java="$(java_bin)"
  rm -f "$2"
  # shellcheck disable=SC2016,SC2086 # the inner shell expands $$ and $1; $4 is a list of flags
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$2" "$java" $4 \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="${KAFKA_HOME_DIR}/config/log4j2.properties" \
    -cp "${LIBS_DIR}/*" "$SERVER_CLASS" "$1" </dev/null >>"$3" 2>&1 8>&- 9>&- &
  for ((i = 0; i < 50; i++)); do
    [[ -s "$2" ]] && break
    sleep 0.1
  done
  PID="$(cat "$2" 2>/dev/null || true)"
  [[ "$PID" =~ ^[0-9]+$ ]] || die "the broker did not start (no pid in $2)"
}

# SIGTERM for a clean shutdown; SIGKILL after STOP_TIMEOUT, so a wedged JVM
# never blocks CI.
stop_pid() {
  local deadline=$((SECONDS + STOP_TIMEOUT))
  kill -TERM "$1" 2>/dev/null || true
  while alive "$1" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$1"; then
    log "pid $1 still running after ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$1" 2>/dev/null || true
    while alive "$1"; do sleep 0.1; done
  fi
}

# A Kafka cluster id: 16 random bytes in unpadded base64url (made here to save
# a JVM start), without a leading '-', which the formatter takes for an option.
new_cluster_id() {
  local id
  while id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" && [[ "$id" == -* ]]; do :; done
  printf '%s\n' "$id"
}

# format PROPS LOGFILE CLUSTER_ID ARGS: the KRaft store of the broker of PROPS.
format() {
  tool "$FORMAT_CLASS" format -t "$3" -c "$1" "${@:4}" >>"$2" 2>&1 ||
    { log_tail "$2"; die "formatting the KRaft store of $1 failed"; }
}

# common_properties RF MIN_ISR: server.properties both scripts share, for a
# 2-core test box: no initial rebalance delay (groups form at once), few
# partitions for the internal topics, few threads.
common_properties() {
  printf '%s\n' num.partitions=1 auto.create.topics.enable=true delete.topic.enable=true \
    "default.replication.factor=$1" "min.insync.replicas=$2" "offsets.topic.replication.factor=$1" \
    offsets.topic.num.partitions=4 "transaction.state.log.replication.factor=$1" \
    "transaction.state.log.min.isr=$2" transaction.state.log.num.partitions=4 \
    "share.coordinator.state.topic.replication.factor=$1" "share.coordinator.state.topic.min.isr=$2" \
    group.initial.rebalance.delay.ms=0 num.network.threads=2 num.recovery.threads.per.data.dir=1
}

log_tail() { [[ ! -f "$1" ]] || { log "last lines of $1:" && tail -n 60 "$1" >&2; }; }

# lock DIR: serialises the starts and stops of DIR's brokers (fd 9).
lock() { mkdir -p "$1" && exec 9>"$1/.lock" && flock 9; }

# The end of both scripts' command dispatch: help and usage errors.
other_command() {
  case "$1" in
  -h | --help | help) usage ;;
  "") usage >&2 && exit 2 ;;
  *) log "unknown command: $1" && usage >&2 && exit 2 ;;
  esac
}
