/*
 * claude_control.h: the invariant checkers of the claude-control/1 dialect (the Claude Agent
 * SDK's side of the control protocol over stdio stream-json, spec/claude-control-1), over a
 * whole server-role transcript in which each connection sN is the CLI process the client spawned
 * (through bin/gwspec-cli-relay): `recv` records are the client's lines to the CLI, `send`
 * records the CLI's (the harness's), the `open` record's `argv` the CLI's flags, `ctl` records
 * of label `client` the client's notes (`response`). Same shapes as invariant.h. Sans-I/O.
 * Depends on transcript.h, msgcat.h, lib/ and jansson.
 */
#ifndef HN_CLAUDE_CONTROL_H
#define HN_CLAUDE_CONTROL_H

#include <stddef.h>

#include <jansson.h>

#include "check/invariant.h"
#include "model/msgcat.h"
#include "model/transcript.h"

const struct hn_invariant_info *hn_claude_control_table(size_t *n);
json_t *hn_claude_control_run(const struct hn_transcript *t, const struct hn_msgcat *catalog);

#endif
