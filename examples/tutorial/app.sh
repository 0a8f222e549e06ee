#!/bin/sh
# The tutorial's web app (docs/tutorial.md): shepherd runs it once per
# connection, the connection on its standard input and output. It reads
# the request up to its blank line, counts the visit in redis, asks
# postgres for its version, and answers.
cr=$(printf '\r')
while IFS= read -r line; do
	case $line in "$cr" | "") break ;; esac
done
hits=$(redis-cli -p "$REDIS_PORT" incr hits) || exit 1
pg=$(psql -XAtc 'show server_version') || exit 1
body="Visit $hits (counted by redis), PostgreSQL ${pg%% *}."
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s\n' $((${#body} + 1)) "$body"
