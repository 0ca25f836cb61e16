/*
 * fake.h: fake I/O for the session state machine (session.h): every effect is recorded as one
 * line ("connect", "send <json>", "close <code>", "ping", "timer <which> <ms>", "ctl <json>",
 * "quit"), so that a test drives the client with frames and acts and reads what it did.
 */
#ifndef RC_TEST_FAKE_H
#define RC_TEST_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "session.h"

#define FAKE_MAX 4096

struct fake {
    char *ev[FAKE_MAX];
    size_t n;
    int64_t timer[RC_TIMER_COUNT]; /* the armed delay, -1 when none */
    struct rc_session *s;
};

/* A session with mutant m at time scale 1 (scale 0: 1), started and opened. */
struct fake *fake_open(enum rc_mutant m, double scale);
/* The same, not started. */
struct fake *fake_new(enum rc_mutant m, double scale);
void fake_free(struct fake *f);
void fake_clear(struct fake *f); /* forget the events so far */

/* Drive it. */
void fake_frame(struct fake *f, const char *json);
void fake_act(struct fake *f, int id, const char *act_json); /* {"NAME":{...}} */
void fake_fire(struct fake *f, enum rc_timer which);         /* a timer fired */

/* Read it. */
size_t fake_count(const struct fake *f, const char *prefix); /* events starting with prefix */
size_t fake_count_sub(const struct fake *f, const char *prefix, const char *sub);
/* The frames sent (the "send " events), parsed; a new array. */
json_t *fake_sent(const struct fake *f);
/* The ctl lines of type t=note and what=what, parsed; a new array. */
json_t *fake_notes(const struct fake *f, const char *what);
/* The last acted line, parsed (new), or NULL. */
json_t *fake_last_acted(const struct fake *f);

#endif
