/*
 * claude_remote.h: the invariant checkers of the claude-remote/1 dialect (a client's side of
 * Claude Code's session socket, spec/claude-remote-1), over a whole server-role transcript:
 * `recv` records on sN are the client's frames, `send` records the harness's (the server's),
 * `attempt` / `refused` / `close` the connections, `ctl` records of label `client` the client's
 * notes (`rendered`). Same shapes as invariant.h. Sans-I/O. Depends on transcript.h, msgcat.h,
 * lib/ and jansson.
 */
#ifndef HN_CLAUDE_REMOTE_H
#define HN_CLAUDE_REMOTE_H

#include <stddef.h>

#include <jansson.h>

#include "check/invariant.h"
#include "model/msgcat.h"
#include "model/transcript.h"

const struct hn_invariant_info *hn_claude_remote_table(size_t *n);
json_t *hn_claude_remote_run(const struct hn_transcript *t, const struct hn_msgcat *catalog);

#endif
