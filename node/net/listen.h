/* Listening sockets: created here (bind + SO_REUSEPORT) or adopted from an inherited fd, so a
 * later zero-downtime upgrade can hand listeners to a new process. */
#ifndef CONCORD_NET_LISTEN_H
#define CONCORD_NET_LISTEN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "node/base/err.h"

/* Resolves `host` (numeric IPv4/IPv6, a name, or "" for the IPv6/IPv4 wildcard) and `port`
 * into `ss`. Errors: -EINVAL (bad address, detail in e). */
int net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len,
                struct err *e);

/* Creates a non-blocking, close-on-exec listening TCP socket bound to `ss` with SO_REUSEADDR
 * and, when `reuseport`, SO_REUSEPORT (one socket per worker). Returns the fd or -errno. */
int net_listen(const struct sockaddr_storage *ss, socklen_t len, bool reuseport, int backlog,
               struct err *e);

/* The port a bound socket really has (after binding port 0). Returns 0 on error. */
uint16_t net_bound_port(int fd);

/* "127.0.0.1:8080" / "[::1]:8080" for a socket address. */
void net_format_addr(const struct sockaddr *sa, char *buf, size_t size);

/* The numeric IP of a socket address without port ("127.0.0.1", "::1"); IPv4-mapped IPv6
 * addresses are written as IPv4. */
void net_format_ip(const struct sockaddr *sa, char *buf, size_t size);

#endif
