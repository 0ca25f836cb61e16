/*
 * tmodel.h: the transcript model the invariant checkers read (internal to harness/check/).
 *
 * hn_tm_build reads a transcript once: a prescan ties sessions, script labels and announced
 * native ids together, then one pass gives every record its rinfo (connection instance,
 * session, run, replay and ack facts) and fills the connection, session, run and provider-run
 * tables. invariant.c's checkers then walk the records with it and never build state of their
 * own beyond the per-(connection, session) tables below. How a received run event is attributed
 * to a run is said at the top of tmodel.c. Sans-I/O. Depends on transcript.h, msgcat.h, lib/.
 */
#ifndef HN_TMODEL_H
#define HN_TMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model/msgcat.h"
#include "model/transcript.h"

#define NONE (-1L)

enum rtype { RT_OTHER, RT_SESSION, RT_OPEN, RT_CLOSE, RT_SEND, RT_RECV, RT_CTL, RT_NOTE };

struct rinfo {           /* what the model knows about one record */
    enum rtype type;     /* record type */
    int64_t n;           /* record number (witness) */
    long conn;           /* connection instance, or NONE */
    const json_t *frame; /* send/recv: the JSON frame, or NULL */
    const char *kind;    /* recv: frame kind; send: frame type */
    long sess;           /* session the frame is about, or NONE */
    long run;            /* recv run event: its run, or NONE */
    bool run_event;      /* recv: a frame with a seq (history_truncated excluded) */
    int64_t seq;         /* run_event: its seq */
    bool replay;         /* run_event: arrived in the replay that follows an ack */
    bool fresh_replay;   /* replay: with an id never seen before in its session */
    bool ack;            /* recv: a chat_subscribed */
    bool ack_processing; /* ack: isProcessing true */
    bool ack_has_l;      /* ack: the matching subscribe's lastSeq is known */
    int64_t ack_l;       /* ack: the normalised lastSeq that was asked for */
    int64_t ack_m;       /* ack: the run's lastSeq it reported */
    bool ack_has_m;      /* ack: lastSeq was an integer */
    bool sentinel;       /* send: a quiet sentinel */
    bool bad_input;      /* send: malformed (not JSON, not an object, no/unknown type) */
    long prun;           /* ctl: its provider run */
};

struct conn_inst {
    const char *name; /* "c1"; an `open` of the same name starts a new instance */
};

struct sess {
    char *sid;                   /* the session id as it appears in frames (owned) */
    const char *label;           /* session label from a `session` record, or NULL */
    const char *project;         /* its projectPath, or NULL */
    long rec_idx;                /* the `session` record, or NONE */
    json_t *idmap;               /* frame id -> run index */
    long *runs;                  /* run indices, in start order */
    size_t nruns;                /* entries in runs */
    bool pending;                /* a chat.send for it may start a new run */
    long pending_conn;           /* who sent it */
    long pending_idx;            /* the send record */
    const char *pending_content; /* its content (for the directive) */
};

struct run {
    long sess;           /* its session */
    size_t k;            /* 0-based ordinal within the session */
    long starter;        /* the connection whose chat.send started it, or NONE */
    long start_send_idx; /* that chat.send record, or NONE */
    char *dir_label;     /* directive label in that chat.send, or NULL */
    char *dir_run;       /* directive run nonce, or NULL */
    long first_idx;      /* its first event anywhere, or NONE */
    long complete_idx;   /* its first complete received anywhere, or NONE */
    long prun;           /* the provider run it maps to, or NONE */
    size_t nevents;      /* events attributed to it */
    int64_t max_seq;     /* highest seq attributed to it */
};

struct prun {
    const char *label;    /* script label */
    const char *run;      /* run nonce */
    long hello_idx;       /* the hello record, or NONE */
    long sess;            /* the session it belongs to, or NONE */
    long done_idx;        /* `done`, or NONE */
    const char *done_how; /* done.how */
    long aborted_idx;     /* `aborted`, or NONE */
    long *emitted;        /* `emitted` records in order */
    size_t nemitted;      /* entries */
    long crun;            /* the client run it maps to, or NONE */
};

/* Per (connection, session) state, allocated zeroed on first use. */
struct cs_slot {
    long sess;   /* the session */
    void *state; /* checker-specific, state_size bytes */
};
struct cs_list {
    struct cs_slot *slots; /* entries */
    size_t n;              /* used */
};
struct cs_table {
    size_t state_size;   /* bytes per state */
    struct cs_list *per; /* one list per connection instance */
    size_t nconn;        /* lists */
};

struct model {
    const json_t *header;  /* the transcript header */
    const json_t *records; /* the records */
    size_t nrec;           /* records */
    struct rinfo *ri;      /* one per record */
    struct conn_inst *conns;
    size_t nconns;
    struct sess *sessions;
    size_t nsess;
    struct run *runs;
    size_t nruns;
    struct prun *pruns;
    size_t nprun;
    json_t *conn_by_name;        /* name -> current instance */
    json_t *sess_by_sid;         /* sid -> session index */
    json_t *sess_by_label;       /* session label -> session index */
    json_t *prun_by_key;         /* "label\x1frun" -> provider run */
    json_t *native_sess;         /* announced native id -> its session */
    json_t *script_sess;         /* script label -> session, from the chat.send directives */
    json_t *owned;               /* frames the model parsed itself (parse_like_js), kept alive */
    bool fanout;                 /* the target declares fan-out */
    int64_t replay_cap;          /* header replay_cap, default 5000 */
    bool has_sessions;           /* any `session` record */
    const struct hn_msgcat *cat; /* may be NULL */
};

void *hn_tm_grow(void *p, size_t n, size_t size);

void hn_tm_cs_init(struct cs_table *t, size_t nconn, size_t state_size);

void *hn_tm_cs_get(struct cs_table *t, long conn, long sess);

void hn_tm_cs_release(struct cs_table *t, void (*free_state)(void *));

const json_t *hn_tm_rec_at(const struct model *m, long i);

long hn_tm_sess_lookup(struct model *m, const char *sid, bool create);

/* "s1" when the session has a label, else the quoted id. New string. */
char *hn_tm_sess_name(const struct model *m, long s);

/* A sessionId trimmed as gateways do (JavaScript's trim); NULL when missing or blank. New. */
char *hn_tm_trimmed(const char *s);
/*
 * The string member key of a client frame (a type or a sessionId), borrowed; NULL when it is
 * missing, not a string, or holds U+0000: such a type or id names nothing the model tracks, never
 * the part before the NUL (R-SEND-1: it may be refused, or taken whole, naming no session).
 */
const char *hn_tm_str(const json_t *obj, const char *key);

void hn_tm_build(struct model *m, const struct hn_transcript *t, const struct hn_msgcat *cat);

void hn_tm_free(struct model *m);

/* The id a session_created announces (R-MAP-3): newSessionId, else sessionId when that is missing
 * or empty (CloudCLI's `newSessionId || sessionId`). NULL when neither is a non-empty string. */
const char *hn_tm_session_created_id(const json_t *ev);

bool hn_tm_is_kind(const json_t *ev, const char *kind);

#endif
