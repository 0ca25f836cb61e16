/*
 * protocol.h: inbound WebSocket frame dispatch (chat.send, chat.abort, chat.subscribe,
 * chat.permission-response), with CloudCLI's validation, codes and exact error strings
 * (cloudcli-notes.md §4, chatgw-1.0.md §D.1).
 *
 * Sans-I/O: the result of handling a frame is data in the core's outbox: frames for connection
 * ids, or a close code. Text and binary frames are parsed alike. Depends on core.h and lib/.
 */
#ifndef GW_PROTOCOL_H
#define GW_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core.h"

/* Handle one complete inbound message from conn (bytes borrowed). */
void gw_protocol_handle(struct gw_core *c, uint64_t conn, const void *data, size_t len);

/*
 * lastSeq normalisation (R-SUB-5): a finite number is floored and clamped at 0; anything else
 * (strings, null, missing, booleans) is 0.
 */
int64_t gw_protocol_last_seq(const json_t *v);

/*
 * JavaScript String.prototype.trim over UTF-8: new string without leading/trailing white space
 * and line terminators (ASCII and Unicode Zs, U+FEFF, U+2028, U+2029).
 */
char *gw_js_trim(const char *s);

#endif
