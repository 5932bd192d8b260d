# Shared by tests/bats/nixos-net/workloads.bats (the lab's running proxy) and
# tests/helpers/check-host-config.sh (nginx -t on rendered configurations): the nginx.conf around
# the stream {} and http {} text nixos/lib/egress.nix generates, as NixOS's nginx module wraps it.

# write_nginx_conf DIR ACCESS_LOG: DIR/nginx.conf including DIR/stream.conf and DIR/http.conf, with
# every path nginx writes inside DIR (pid, error log, temp directories) and ACCESS_LOG (or "off").
write_nginx_conf() {
  local dir=$1 access=$2
  cat >"$dir/nginx.conf" <<EOF2
pid $dir/nginx.pid;
error_log $dir/error.log info;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
events { worker_connections 256; }
stream { include $dir/stream.conf; }
http {
  access_log $access;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  include $dir/http.conf;
}
EOF2
}
