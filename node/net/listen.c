/* Listening sockets and address formatting. */
#include "node/net/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len,
                struct err *e)
{
    struct addrinfo hints, *res = NULL;
    char portstr[8];
    int rc;

    memset(ss, 0, sizeof *ss);
    if (host == NULL || host[0] == '\0') {
        /* An empty host means every address; IPv6 wildcard sockets also take IPv4 unless the
         * system forbids it, so fall back to 0.0.0.0 when IPv6 is unavailable. */
        int probe = socket(AF_INET6, SOCK_STREAM, 0);
        if (probe >= 0) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
            close(probe);
            s6->sin6_family = AF_INET6;
            s6->sin6_addr = in6addr_any;
            s6->sin6_port = htons(port);
            *len = sizeof *s6;
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
            s4->sin_family = AF_INET;
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
            s4->sin_port = htons(port);
            *len = sizeof *s4;
        }
        return 0;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(portstr, sizeof portstr, "%u", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || res == NULL) {
        return err_set(e, -EINVAL, "cannot resolve \"%s\": %s", host, gai_strerror(rc));
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int net_listen(const struct sockaddr_storage *ss, socklen_t len, bool reuseport, int backlog,
               struct err *e)
{
    char addr[64];
    int one = 1;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return err_set(e, -errno, "socket: %s", strerror(errno));
    }
    net_format_addr((const struct sockaddr *)ss, addr, sizeof addr);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)) {
        int rc = -errno;
        close(fd);
        return err_set(e, rc, "setsockopt on %s: %s", addr, strerror(-rc));
    }
    if (ss->ss_family == AF_INET6) {
        int zero = 0;
        /* Best effort: a wildcard IPv6 socket should also accept IPv4. */
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (bind(fd, (const struct sockaddr *)ss, len) != 0) {
        int rc = -errno;
        close(fd);
        return err_set(e, rc, "bind %s: %s", addr, strerror(-rc));
    }
    if (listen(fd, backlog) != 0) {
        int rc = -errno;
        close(fd);
        return err_set(e, rc, "listen %s: %s", addr, strerror(-rc));
    }
    return fd;
}

uint16_t net_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        return 0;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

void net_format_ip(const struct sockaddr *sa, char *buf, size_t size)
{
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)size);
        } else {
            inet_ntop(AF_INET6, a, buf, (socklen_t)size);
        }
    } else {
        snprintf(buf, size, "?");
    }
}

void net_format_addr(const struct sockaddr *sa, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    uint16_t port;
    net_format_ip(sa, ip, sizeof ip);
    if (sa->sa_family == AF_INET) {
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
        snprintf(buf, size, "%s:%u", ip, port);
    } else {
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
        if (strchr(ip, ':') != NULL) {
            snprintf(buf, size, "[%s]:%u", ip, port);
        } else {
            snprintf(buf, size, "%s:%u", ip, port);
        }
    }
}
