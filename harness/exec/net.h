/*
 * net.h: TCP connections for the harness's clients (WebSocket, HTTP, the recording proxy's
 * upstream, the target's readiness probe): nonblocking, close-on-exec, Nagle off.
 */
#ifndef HN_NET_H
#define HN_NET_H

#include <stdint.h>

/* Connect a nonblocking TCP socket to host:port before deadline_ms. fd, or -1 with *err. */
int hn_net_connect(const char *host, int port, int64_t deadline_ms, char **err);
/*
 * The same with a receive buffer of rcvbuf bytes and a maximum segment size of mss, both set
 * before the SYN (0: the system's). A small MSS and receive buffer make a loopback connection
 * buffer about as much as one over a real network (a few hundred KB, not 4 MB), so a client
 * that stops reading fills the peer's buffers quickly.
 */
int hn_net_connect_tuned(const char *host, int port, int64_t deadline_ms, int rcvbuf, int mss,
                         char **err);
/*
 * The same from the IPv4 source address src (NULL: the system's choice), e.g. 127.0.0.2: one
 * source address has about 28,000 ephemeral ports, so a client holding more connections to one
 * port spreads them over several loopback sources (gwspec load --idle).
 */
int hn_net_connect_from(const char *host, int port, const char *src, int64_t deadline_ms,
                        int rcvbuf, int mss, char **err);

#endif
