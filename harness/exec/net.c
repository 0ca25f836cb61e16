/* net.c: TCP connections (see net.h). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec/net.h"
#include "wc_mem.h"
#include "wc_time.h"
#include "wc_banned.h"

int hn_net_connect(const char *host, int port, int64_t deadline_ms, char **err)
{
    return hn_net_connect_tuned(host, port, deadline_ms, 0, 0, err);
}

int hn_net_connect_tuned(const char *host, int port, int64_t deadline_ms, int rcvbuf, int mss,
                         char **err)
{
    return hn_net_connect_from(host, port, NULL, deadline_ms, rcvbuf, mss, err);
}

/* Bind fd to the IPv4 address src, its port chosen at connect (so that the ports of one source
 * are shared across destinations). 0, or -1 with errno. */
static int bind_source(int fd, int family, const char *src)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int one = 1;

    if (family != AF_INET || inet_pton(AF_INET, src, &sa.sin_addr) != 1) {
        errno = EAFNOSUPPORT;
        return -1;
    }
#ifdef IP_BIND_ADDRESS_NO_PORT
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
    (void)one;
    return bind(fd, (struct sockaddr *)&sa, sizeof(sa));
}

int hn_net_connect_from(const char *host, int port, const char *src, int64_t deadline_ms,
                        int rcvbuf, int mss, char **err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char portstr[16];
    int fd = -1, rc;

    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        *err = wc_xasprintf("cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (rcvbuf > 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        if (mss > 0)
            setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss));
        if (src && bind_source(fd, a->ai_family, src) != 0) {
            close(fd);
            fd = -1;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int64_t left = deadline_ms - wc_now_ms();
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (left > 0 && poll(&p, 1, (int)left) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            errno = soerr ? soerr : ETIMEDOUT;
        }
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        *err = wc_xasprintf("cannot connect to %s:%d: %s", host, port, strerror(errno));
    else {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    freeaddrinfo(res);
    return fd;
}
