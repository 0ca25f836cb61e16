/*
 * record.h: the sans-I/O half of `gwspec record`, the recording proxy: HTTP/1.1 head parsing,
 * chunked-body decoding, redaction of secrets (URL query tokens, JSON fields named by
 * --redact), and turning one WebSocket message or HTTP exchange into a transcript record
 * (spec/transcript.md).
 *
 * The WebSocket framing itself is parsed with ws.h's hn_ws_next() on a socketless hn_ws, for
 * both directions (it unmasks client frames). The proxy's event loop is in cmd_record.c.
 * Depends on lib/ and jansson only; no sockets, no clock.
 */
#ifndef HN_RECORD_H
#define HN_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The replacement text for a redacted secret. */
#define HN_REDACTED "<redacted>"
/* Largest HTTP head accepted, in bytes. */
#define HN_HTTP_MAX_HEAD 65536

/* A parsed HTTP/1.x request or status line plus headers. */
struct hn_record_head {
    char *method;    /* request: "GET"; response: NULL */
    char *target;    /* request: "/ws?token=x"; response: NULL */
    int status;      /* response: 101, 200, ...; request: 0 */
    json_t *headers; /* array of [name, value] string pairs, in order */
    size_t head_len; /* bytes of the head, up to and including the blank line */
};

/*
 * Parse a head out of buf[0..len). Returns 1 with *h filled (release with
 * hn_record_head_release), 0 when the blank line has not arrived yet, or WC_ERR_PROTOCOL /
 * WC_ERR_TOO_BIG with *why (new) for a head that is not HTTP/1.x or is over HN_HTTP_MAX_HEAD.
 */
int hn_record_head_parse(const char *buf, size_t len, bool request, struct hn_record_head *h,
                         char **why);
void hn_record_head_release(struct hn_record_head *h);
/* The value of the first header called name (case-insensitive), borrowed, or NULL. */
const char *hn_record_head_get(const struct hn_record_head *h, const char *name);
/* True when a header's comma-separated value list contains token (case-insensitive). */
bool hn_record_header_has_token(const char *value, const char *token);

/*
 * Decode a chunked body from buf[0..len). Returns 1 with *out (new) and *out_len and *used
 * (bytes of buf the body took, trailers included) when the last chunk arrived, 0 when more is
 * needed, WC_ERR_PROTOCOL when it is not valid chunked encoding.
 */
int hn_http_dechunk(const char *buf, size_t len, char **out, size_t *out_len, size_t *used);

/*
 * The request target with the value of every query parameter whose name is a secret
 * replaced by HN_REDACTED. Secrets: token, access_token, auth, jwt, apikey, api_key, key,
 * password, plus every name in fields (array of strings, may be NULL). New string.
 */
char *hn_redact_target(const char *target, const json_t *fields);
/* True when the target's query carries a secret parameter (as above). */
bool hn_record_has_secret(const char *target, const json_t *fields);
/*
 * Replace, in place and at any depth, the value of every object member whose name is in
 * fields (array of strings) by the string HN_REDACTED. Accepts NULL.
 */
void hn_redact_json(json_t *v, const json_t *fields);

/*
 * Fill a send/recv record with one message payload as spec/transcript.md stores it: "frame"
 * (the JSON value, fields redacted) when it is UTF-8 JSON, else "text" when it is UTF-8, else
 * "hex"; and "binary" (bool). rec is an object; nothing is taken.
 */
void hn_record_payload(json_t *rec, const char *data, size_t len, bool binary,
                       const json_t *fields);

/*
 * A body for an `http` record: the JSON value when it parses (fields redacted), else the
 * text when UTF-8, else {"hex": "..."}; NULL for an empty body. New reference.
 */
json_t *hn_record_body(const char *data, size_t len, const json_t *fields);

/* The default field names redacted in JSON payloads (NULL-terminated): token, password. */
extern const char *const hn_redact_default_fields[];

/*
 * True when a chat.subscribe frame or a chat_subscribed frame names only harness sentinel ids
 * ("gwspec-sentinel-N" from `quiet`, "gwspec-sync-N" from replayed cases).
 */
bool hn_frame_is_sentinel(const json_t *frame);

/* `gwspec record ...` (cmd_record.c); argv[0] is "record". Returns the exit status. */
int hn_cmd_record(int argc, char **argv);

#endif
