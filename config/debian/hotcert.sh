#!/bin/sh
# hotcert as Debian installs it: Debian's own nodejs (13 "trixie" ships 20.19), the application in /usr/lib/hotcert.
exec /usr/bin/node /usr/lib/hotcert/dist/main.js "$@"
