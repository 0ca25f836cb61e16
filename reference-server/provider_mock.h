/*
 * provider_mock.h: the in-process provider behind struct gw_provider_ops: the mock-provider
 * runtime (mock-providers/runtime.h) driven on the lws event loop.
 *
 * All four providers (claude, cursor, codex, opencode) run the same runtime. The prompt's
 * `gwspec:{...}` directive picks the script (mp_directive_parse); its control channel is a raw
 * TCP client connection on the gateway's lws context (protocol GW_MOCK_CTL_PROTOCOL, which the
 * server puts in its protocol list); delay steps use lws_sul timers. This file and server.c are
 * the only ones that use lws. Depends on provider.h, mock-providers/{directive,runtime}.h, lws.
 */
#ifndef GW_PROVIDER_MOCK_H
#define GW_PROVIDER_MOCK_H

#include <libwebsockets.h>

#include "provider.h"

#define GW_MOCK_CTL_PROTOCOL "gwspec-ctl"

struct gw_mock;

/*
 * New mock provider on ctx. fixtures_dir: where named scripts live (NULL: $GWSPEC_FIXTURES or
 * "fixtures"). allow_ctl: the comma-separated control hosts allowed besides loopback (copied;
 * NULL: loopback only, see gw_mock_ctl_allowed). after(after_ctx) is called after every input the
 * runtime handled on the loop (control line, timer, lost channel), so the glue can drain and re-arm
 * its timers; may be NULL.
 */
struct gw_mock *gw_mock_new(struct lws_context *ctx, const char *fixtures_dir,
                            const char *allow_ctl, void (*after)(void *after_ctx), void *after_ctx);
/*
 * May a directive's control channel connect to host? True for loopback (127.0.0.0/8, ::1,
 * ::ffff:127.0.0.0/104, "localhost" in any case) and for a host that is one of the
 * comma-separated entries of allow (compared literally, case-insensitively, an entry's [] around
 * an IPv6 address aside); allow may be NULL. False for NULL or "". A refused address is never
 * connected to: the run gets the directive error script instead.
 */
bool gw_mock_ctl_allowed(const char *host, const char *allow);
/* Set the vhost the control connections are made on (after context creation). */
void gw_mock_set_vhost(struct gw_mock *m, struct lws_vhost *vh);
/* Frees the provider object. Every run must have been released first. Accepts NULL. */
void gw_mock_free(struct gw_mock *m);

/* The ops; `self` is the struct gw_mock. */
extern const struct gw_provider_ops gw_mock_ops;

/* The lws callback of GW_MOCK_CTL_PROTOCOL (raw client sockets to the harness). */
int gw_mock_ctl_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len);

#endif
