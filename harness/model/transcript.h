/*
 * transcript.h: the gwspec transcript (`gwspec-transcript/1`, spec/transcript.md): a header
 * object plus an append-only list of records, read from and written to JSONL.
 *
 * A transcript is the evidence for every verdict. This module only stores, numbers, reads and
 * writes records; it knows nothing of what they mean (that is invariant.c). Sans-I/O apart
 * from the FILE it is given. Depends on lib/ (wc_json, wc_mem) and jansson only.
 */
#ifndef HN_TRANSCRIPT_H
#define HN_TRANSCRIPT_H

#include <stdio.h>

#include <jansson.h>

#define HN_TRANSCRIPT_FORMAT "gwspec-transcript/1"

struct hn_transcript;

/*
 * A new, empty transcript. Takes header (may be NULL: an empty object); sets "t": "header"
 * and "format" when they are missing. Never NULL.
 */
struct hn_transcript *hn_transcript_new(json_t *header);

/*
 * Append a record (taken; a non-object is wrapped as a `note`). Sets "n" (1-based record
 * number) and "us" (monotonic microseconds since hn_transcript_new) when they are absent.
 */
void hn_transcript_add(struct hn_transcript *t, json_t *record);

/*
 * Build a record of type `type` from a json_pack format (an object format, e.g. "{s:s, s:O}")
 * and append it. When the values cannot be packed (for example a string that is not UTF-8),
 * a `note` record saying so is appended instead: a peer can never make this crash.
 */
void hn_transcript_addf(struct hn_transcript *t, const char *type, const char *fmt, ...);

json_t *hn_transcript_header(const struct hn_transcript *t);  /* borrowed */
json_t *hn_transcript_records(const struct hn_transcript *t); /* borrowed array, header excluded */

/* Write the header and every record, one compact JSON object per line. 0 or WC_ERR_IO. */
int hn_transcript_write_jsonl(const struct hn_transcript *t, FILE *fp);

/*
 * Load a JSONL transcript. Empty lines are skipped. Line 1 must be the header ("t": "header",
 * "format": "gwspec-transcript/1..."); every other line an object with a string "t". Records
 * without "n" are numbered by position. Returns a new transcript, or NULL with *err set to a
 * new "file:line: message" string (free()).
 */
struct hn_transcript *hn_transcript_load(const char *path, char **err);

/* Same as hn_transcript_load, from a string called `name` in messages. */
struct hn_transcript *hn_transcript_load_string(const char *name, const char *text, char **err);

/* Free the transcript and every record. Accepts NULL. */
void hn_transcript_free(struct hn_transcript *t);

#endif
