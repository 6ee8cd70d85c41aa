# Shell functions to run a throwaway PostgreSQL 15 cluster, sourced by the
# test, demo and bench scripts.  Unix socket only: the socket lives in the
# cluster's own folder, so the port only names it and never collides.
#
# As root, the server runs as the postgres OS user (initdb refuses root).

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# build_and_install: compile the extension and install it into PostgreSQL 15
build_and_install() {
    local make_args=(PG_CONFIG="$PGBIN/pg_config")
    make -s "${make_args[@]}" >/dev/null
    if [ "$(id -u)" -eq 0 ]; then
        make -s "${make_args[@]}" install >/dev/null
    else
        sudo make -s "${make_args[@]}" install >/dev/null
    fi
}

# cluster_create DIR: a new cluster in DIR/data, sockets in DIR
cluster_create() {
    local dir=$1
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
        chmod 755 "$dir"
    fi
    as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust \
        --no-instructions -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log"
        return 1
    }
}

# cluster_start DIR PORT PRELOAD [extra -c options...]
#   PRELOAD is the value of shared_preload_libraries ('' for none)
cluster_start() {
    local dir=$1 port=$2 preload=$3
    shift 3
    local opts="-p $port -k $dir -c listen_addresses='' -c fsync=on"
    opts+=" -c shared_preload_libraries='$preload' -c cron.database_name=postgres"
    opts+=" -c cron.host='$dir'"
    opts+=" -c max_connections=50 -c log_min_messages=warning"
    for o in "$@"; do
        opts+=" -c $o"
    done
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "$opts" start >/dev/null || {
        tail -n 30 "$dir/server.log"
        return 1
    }
}

# cluster_stop DIR: stop the server if it runs; never leaves one behind
cluster_stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}
