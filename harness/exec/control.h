/*
 * control.h: the harness side of the control channel (spec/control-channel.md §3): a loopback
 * listener private to one case, and newline-delimited JSON connections from mock providers,
 * each identified by its `hello` (label, run).
 *
 * Sans-loop: the caller polls the fds that hn_ctl_pollfds gives and hands the results to
 * hn_ctl_handle, which reports each complete message through a callback.
 * Depends on lib/ only.
 */
#ifndef HN_CONTROL_H
#define HN_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define HN_CTL_MAX_LINE (4u * 1024 * 1024)

struct hn_ctl;

/*
 * One message from a provider. label/run are those of the connection's hello (NULL before
 * it). msg is borrowed. `bad` is set (and msg NULL) for a line that is not a JSON object;
 * `text` then holds the line.
 */
typedef void (*hn_ctl_cb)(void *ctx, int conn, const char *label, const char *run, json_t *msg,
                          const char *bad_text);

/* Listen on 127.0.0.1:0. NULL with *err on failure. */
struct hn_ctl *hn_ctl_new(hn_ctl_cb cb, void *ctx, char **err);
/* Accept only providers whose hello carries this case token ("<id>#<nonce>"): a connection that
 * says hello for another case is reported once (bad_text) and closed. */
void hn_ctl_set_case(struct hn_ctl *c, const char *case_token);
int hn_ctl_port(const struct hn_ctl *c);
/* Fill up to max pollfds; returns how many. */
size_t hn_ctl_pollfds(const struct hn_ctl *c, struct pollfd *fds, size_t max);
/* Process poll results for the fds hn_ctl_pollfds gave (same order, n of them). */
void hn_ctl_handle(struct hn_ctl *c, const struct pollfd *fds, size_t n);
/* Send one message (a line) to every open connection whose hello had this label and run
 * (run NULL: the newest connection of the label). Returns how many got it. */
int hn_ctl_send(struct hn_ctl *c, const char *label, const char *run, const json_t *msg);
/* True when a connection with this label (and run, if not NULL) is open. */
bool hn_ctl_has(const struct hn_ctl *c, const char *label, const char *run);
void hn_ctl_free(struct hn_ctl *c);

#endif
