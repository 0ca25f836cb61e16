/*
 * test_record.c: CUnit tests for harness/replay/record.c, the recording proxy's sans-I/O half:
 * HTTP heads in every chunking, chunked bodies, redaction, payload records, sentinels.
 * Suite table: hn_record_suites (moved out of test_replay.c, assertions unchanged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "replay/record.h"
#include "wc_err.h"
#include "wc_json.h"
#include "wc_mem.h"

static const char req_head[] = "GET /ws?token=s3cret&x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
                               "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                               "Authorization: Bearer abc\r\n\r\nTRAILING";

static void test_head_every_chunking(void)
{
    size_t head = strlen(req_head) - strlen("TRAILING");
    for (size_t cut = 0; cut <= strlen(req_head); cut++) {
        struct hn_record_head h;
        char *why = NULL;
        int rc = hn_record_head_parse(req_head, cut, true, &h, &why);
        if (cut < head) {
            CU_ASSERT_EQUAL(rc, 0);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(rc, 1);
        CU_ASSERT_EQUAL(h.head_len, head);
        CU_ASSERT_STRING_EQUAL(h.method, "GET");
        CU_ASSERT_STRING_EQUAL(h.target, "/ws?token=s3cret&x=1");
        CU_ASSERT_STRING_EQUAL(hn_record_head_get(&h, "upgrade"), "websocket");
        CU_ASSERT(hn_record_header_has_token(hn_record_head_get(&h, "Connection"), "upgrade"));
        CU_ASSERT(!hn_record_header_has_token(hn_record_head_get(&h, "Connection"), "close"));
        hn_record_head_release(&h);
    }
}

static void test_head_response_and_errors(void)
{
    struct hn_record_head h;
    char *why = NULL;
    const char *resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

    CU_ASSERT_EQUAL_FATAL(hn_record_head_parse(resp, strlen(resp), false, &h, &why), 1);
    CU_ASSERT_EQUAL(h.status, 101);
    hn_record_head_release(&h);
    CU_ASSERT_EQUAL(hn_record_head_parse("NOPE\r\n\r\n", 8, true, &h, &why), WC_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(why);
    free(why);
    why = NULL;
    CU_ASSERT_EQUAL(hn_record_head_parse("HTTP/1.1 abc\r\n\r\n", 17, false, &h, &why),
                    WC_ERR_PROTOCOL);
    free(why);
    why = NULL;
    const char *badhdr = "GET / HTTP/1.1\r\nno colon here\r\n\r\n";
    CU_ASSERT_EQUAL(hn_record_head_parse(badhdr, strlen(badhdr), true, &h, &why), WC_ERR_PROTOCOL);
    free(why);
    why = NULL;
    char *big = wc_xmalloc(HN_HTTP_MAX_HEAD + 10);
    memset(big, 'a', HN_HTTP_MAX_HEAD + 9);
    big[HN_HTTP_MAX_HEAD + 9] = '\0';
    CU_ASSERT_EQUAL(hn_record_head_parse(big, HN_HTTP_MAX_HEAD + 9, true, &h, &why),
                    WC_ERR_TOO_BIG);
    free(why);
    free(big);
}

/*
 * buf[0..len) is all the parser may read (fuzz/corpus/wire/head-not-nul-terminated): the head
 * ends right before an inaccessible page, where a strstr over it ran off under ASan. A NUL in
 * the request target is a control character, not the end of the first line (before, the
 * search for its CRLF stopped at the NUL and every header was lost).
 */
static void test_head_reads_only_len_bytes(void)
{
    static const char head[] = "GET /ws HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char nul_target[] = "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = sizeof(head) - 1;
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct hn_record_head h;
    char *why = NULL;

    CU_ASSERT_FATAL(map != MAP_FAILED);
    CU_ASSERT_FATAL(mprotect(map + page, page, PROT_NONE) == 0);
    memcpy(map + page - n, head, n);
    CU_ASSERT_EQUAL_FATAL(hn_record_head_parse(map + page - n, n, true, &h, &why), 1);
    CU_ASSERT_STRING_EQUAL(h.target, "/ws");
    CU_ASSERT_EQUAL(h.head_len, n);
    CU_ASSERT_STRING_EQUAL(hn_record_head_get(&h, "host"), "a");
    hn_record_head_release(&h);
    munmap(map, 2 * page);

    CU_ASSERT_EQUAL(hn_record_head_parse(nul_target, sizeof(nul_target) - 1, true, &h, &why),
                    WC_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(why);
    free(why);
}

static void test_dechunk(void)
{
    const char *body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-T: y\r\n\r\nNEXT";
    size_t full = strlen(body) - 4;
    for (size_t cut = 0; cut <= strlen(body); cut++) {
        char *out = NULL;
        size_t olen = 0, used = 0;
        int rc = hn_http_dechunk(body, cut, &out, &olen, &used);
        if (cut < full) {
            CU_ASSERT_EQUAL(rc, 0);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(rc, 1);
        CU_ASSERT_EQUAL(used, full);
        CU_ASSERT_EQUAL(olen, 9);
        CU_ASSERT_NSTRING_EQUAL(out, "Wikipedia", 9);
        free(out);
    }
    char *out = NULL;
    size_t olen, used;
    CU_ASSERT_EQUAL(hn_http_dechunk("zz\r\n", 4, &out, &olen, &used), WC_ERR_PROTOCOL);
    CU_ASSERT_EQUAL(hn_http_dechunk("2\r\nabXY", 7, &out, &olen, &used), WC_ERR_PROTOCOL);
}

static void test_redaction(void)
{
    json_t *fields = json_pack("[s]", "apiSecret");
    char *t = hn_redact_target("/ws?token=abc&keep=1&apiSecret=zz&auth", fields);
    CU_ASSERT_STRING_EQUAL(t, "/ws?token=<redacted>&keep=1&apiSecret=<redacted>&auth");
    free(t);
    t = hn_redact_target("/ws", NULL);
    CU_ASSERT_STRING_EQUAL(t, "/ws");
    free(t);
    CU_ASSERT(hn_record_has_secret("/x?access_token=1", NULL));
    CU_ASSERT(!hn_record_has_secret("/x?tokens=1", NULL));

    json_t *v = json_pack("{s:s, s:{s:s, s:[{s:s}]}, s:{s:i}}", "apiSecret", "a", "data", "token",
                          "jwt", "list", "apiSecret", "b", "tokenBudget", "used", 3);
    json_t *f2 = json_pack("[s, s]", "apiSecret", "token");
    hn_redact_json(v, f2);
    CU_ASSERT_STRING_EQUAL(wc_json_str(v, "apiSecret"), HN_REDACTED);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(v, "data"), "token"), HN_REDACTED);
    CU_ASSERT_STRING_EQUAL(
        wc_json_str(json_array_get(json_object_get(json_object_get(v, "data"), "list"), 0),
                    "apiSecret"),
        HN_REDACTED);
    CU_ASSERT(json_is_object(json_object_get(v, "tokenBudget")));
    json_decref(v);
    json_decref(f2);
    json_decref(fields);
}

static void test_payload_records(void)
{
    json_t *fields = json_pack("[s]", "token");
    json_t *r = json_object();
    hn_record_payload(r, "{\"type\":\"x\",\"token\":\"t\"}", 24, false, fields);
    CU_ASSERT_STRING_EQUAL(wc_json_str(json_object_get(r, "frame"), "token"), HN_REDACTED);
    CU_ASSERT(json_is_false(json_object_get(r, "binary")));
    json_decref(r);
    r = json_object();
    hn_record_payload(r, "{not json", 9, false, fields);
    CU_ASSERT_STRING_EQUAL(wc_json_str(r, "text"), "{not json");
    json_decref(r);
    r = json_object();
    hn_record_payload(r, "{\"a\":1,\"a\":2}", 13, false, fields); /* duplicates stay text */
    CU_ASSERT_PTR_NOT_NULL(wc_json_str(r, "text"));
    json_decref(r);
    r = json_object();
    hn_record_payload(r, "\xff\x00", 2, true, fields);
    CU_ASSERT_STRING_EQUAL(wc_json_str(r, "hex"), "ff00");
    CU_ASSERT(json_is_true(json_object_get(r, "binary")));
    json_decref(r);
    json_t *b = hn_record_body("", 0, fields);
    CU_ASSERT_PTR_NULL(b);
    b = hn_record_body("{\"token\":\"x\"}", 13, fields);
    CU_ASSERT_STRING_EQUAL(wc_json_str(b, "token"), HN_REDACTED);
    json_decref(b);
    json_decref(fields);
}

static void test_sentinels(void)
{
    json_t *a = json_pack("{s:s, s:[{s:s}]}", "type", "chat.subscribe", "sessions", "sessionId",
                          "gwspec-sentinel-3");
    json_t *b = json_pack("{s:s, s:s}", "kind", "chat_subscribed", "sessionId", "gwspec-sync-1");
    json_t *c = json_pack("{s:s, s:[{s:s}, {s:s}]}", "type", "chat.subscribe", "sessions",
                          "sessionId", "gwspec-sync-1", "sessionId", "real");
    CU_ASSERT(hn_frame_is_sentinel(a));
    CU_ASSERT(hn_frame_is_sentinel(b));
    CU_ASSERT(!hn_frame_is_sentinel(c));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static CU_TestInfo record_tests[] = {
    {"HTTP head in every chunking", test_head_every_chunking},
    {"HTTP responses and bad heads", test_head_response_and_errors},
    {"HTTP head parsing reads only its len bytes", test_head_reads_only_len_bytes},
    {"chunked bodies in every chunking", test_dechunk},
    {"redaction of query tokens and JSON fields", test_redaction},
    {"payload records: frame, text, hex", test_payload_records},
    {"harness sentinels are recognised", test_sentinels},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo hn_record_suites[] = {
    {"hn_record", NULL, NULL, NULL, NULL, record_tests},
    CU_SUITE_INFO_NULL,
};
