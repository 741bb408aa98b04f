#!/bin/sh
# Inside the systemd test container: pebble (Let's Encrypt's test ACME server) as a transient unit on 127.0.0.1:14000,
# with its own TLS certificate, and a `certbot` for tests that trusts it and caps certbot's sleeps.
set -eu
dir=/root/pebble
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem -days 30 \
  -subj /CN=pebble -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' 2>/dev/null
cat > config.json <<'JSON'
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "/root/pebble/cert.pem", "privateKey": "/root/pebble/key.pem", "httpPort": 5002, "tlsPort": 5001,
  "ocspResponderURL": "", "externalAccountBindingRequired": false, "certificateValidityPeriod": 7776000}}
JSON
# No deliberate flakiness (nonce rejection, random authz reuse), no validation of the test names.
systemd-run --quiet --unit=pebble -p WorkingDirectory="$dir" \
  --setenv=PEBBLE_VA_ALWAYS_VALID=1 --setenv=PEBBLE_VA_NOSLEEP=1 --setenv=PEBBLE_WFE_NONCEREJECT=0 --setenv=PEBBLE_AUTHZREUSE=100 \
  /usr/bin/pebble -config "$dir/config.json" -strict=false
i=0
until openssl s_client -connect 127.0.0.1:14000 </dev/null >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 100 ] || { echo "pebble did not start" >&2; exit 1; }
  sleep 0.2
done
cat > /usr/local/lib/certbot-capped.py <<'PY'
import sys, time
_sleep = time.sleep
time.sleep = lambda seconds: _sleep(min(seconds, 0.05))
from certbot.main import main
sys.exit(main())
PY
cat > /usr/local/bin/test-certbot <<'SH'
#!/bin/sh
# certbot against the local pebble, as an operator's certbot against Let's Encrypt (same /etc/letsencrypt).
REQUESTS_CA_BUNDLE=/root/pebble/cert.pem exec python3 /usr/local/lib/certbot-capped.py "$@" --non-interactive \
  --server https://127.0.0.1:14000/dir --agree-tos --register-unsafely-without-email
SH
chmod 755 /usr/local/bin/test-certbot
