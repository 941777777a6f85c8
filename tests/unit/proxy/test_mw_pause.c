/* Middleware waits (MW_PAUSE, node/proxy/mw.c): a timer or thread-pool work ends the wait and
 * the exchange is resumed exactly once; a context destroyed during the wait cancels it, the
 * `after` function never runs and the op's state is freed once. basicAuth's bcrypt check is
 * the real user: it runs on the pool. */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];
static int afters, frees;

struct job {
    enum mw_result decide;
    bool worked;
};

static void job_free(void *p)
{
    frees++;
    free(p);
}

static void job_work(void *p)
{
    ((struct job *)p)->worked = true;
}

static enum mw_result job_after(struct mw_ctx *m, void *p)
{
    struct job *j = p;
    afters++;
    ck_assert(j->worked || j->decide != MW_STOP); /* the work ran before (work jobs decide STOP) */
    if (j->decide == MW_STOP) {
        mw_reply(m, 403);
    }
    return j->decide;
}

static void setup(struct mwt *t, uv_loop_t *loop)
{
    mwt_setup(t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {addPrefix: {prefix: /a}}\n"));
    ck_assert_int_eq(uv_loop_init(loop), 0);
    t->loop = loop;
    afters = frees = 0;
    ck_assert_int_eq(mwt_request(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), MW_CONTINUE);
}

static void teardown(struct mwt *t, uv_loop_t *loop)
{
    mwt_teardown(t);
    uv_run(loop, UV_RUN_DEFAULT); /* closes what a cancelled wait left */
    ck_assert_int_eq(uv_loop_close(loop), 0);
}

START_TEST(timer_resumes_once)
{
    struct mwt t;
    uv_loop_t loop;
    struct job *j = calloc(1, sizeof *j);
    setup(&t, &loop);
    j->decide = MW_CONTINUE;
    ck_assert_int_eq(mw_pause_timer(t.m, 1, job_after, j, job_free), 0);
    ck_assert_ptr_nonnull(t.m->pending);
    ck_assert_int_ne(mw_pause_timer(t.m, 1, job_after, calloc(1, sizeof *j), job_free), 0);
    ck_assert_int_eq(frees, 1); /* a second wait at once is refused, its state freed */
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t.resumed, 1);
    ck_assert_int_eq(t.resumed_with, MW_CONTINUE);
    ck_assert_int_eq(afters, 1);
    ck_assert_int_eq(frees, 2);
    ck_assert_ptr_null(t.m->pending);
    teardown(&t, &loop);
}
END_TEST

START_TEST(work_then_stop)
{
    struct mwt t;
    uv_loop_t loop;
    struct job *j = calloc(1, sizeof *j);
    setup(&t, &loop);
    j->decide = MW_STOP;
    ck_assert_int_eq(mw_pause_work(t.m, job_work, job_after, j, job_free), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t.resumed, 1);
    ck_assert_int_eq(t.resumed_with, MW_STOP);
    ck_assert_int_eq(t.m->reply_status, 403);
    ck_assert_int_eq(frees, 1);
    teardown(&t, &loop);
}
END_TEST

START_TEST(destroy_cancels_timer)
{
    struct mwt t;
    uv_loop_t loop;
    struct job *j = calloc(1, sizeof *j);
    setup(&t, &loop);
    j->decide = MW_CONTINUE;
    ck_assert_int_eq(mw_pause_timer(t.m, 60000, job_after, j, job_free), 0);
    mwt_end(&t); /* the exchange ends during the wait */
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(afters, 0);
    ck_assert_int_eq(t.resumed, 0);
    ck_assert_int_eq(frees, 1);
    teardown(&t, &loop);
}
END_TEST

START_TEST(destroy_cancels_work)
{
    struct mwt t;
    uv_loop_t loop;
    struct job *j = calloc(1, sizeof *j);
    setup(&t, &loop);
    j->decide = MW_CONTINUE;
    ck_assert_int_eq(mw_pause_work(t.m, job_work, job_after, j, job_free), 0);
    mwt_end(&t);
    uv_run(&loop, UV_RUN_DEFAULT); /* cancelled before it ran, or ran and was ignored */
    ck_assert_int_eq(afters, 0);
    ck_assert_int_eq(t.resumed, 0);
    ck_assert_int_eq(frees, 1);
    teardown(&t, &loop);
}
END_TEST

START_TEST(no_loop_no_pause)
{
    struct mwt t;
    struct job *j = calloc(1, sizeof *j);
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[a]", "    a: {addPrefix: {prefix: /a}}\n"));
    frees = 0;
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_int_ne(mw_pause_timer(t.m, 1, job_after, j, job_free), 0);
    ck_assert_int_eq(frees, 1);
    mwt_teardown(&t);
}
END_TEST

/* bcrypt on the pool: the request pauses, then goes on (right password) or gets 401. */
#define ALICE "alice:$2y$04$jrcXhI5aBbxDTQMRR32d8udvyCc.NWiWU09XDIrJevGR8dNdGtcqu" /* wonderland */

static void auth_request(struct mwt *t, uv_loop_t *loop, const char *b64)
{
    char raw[512];
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic %s\r\n\r\n", b64);
    t->loop = loop;
    t->resumed = 0;
    ck_assert_int_eq(mwt_request(t, raw), MW_PAUSE);
    uv_run(loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(t->resumed, 1);
}

START_TEST(basic_auth_bcrypt_on_the_pool)
{
    struct mwt t;
    uv_loop_t loop;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[auth]",
                           "    auth:\n      basicAuth:\n        users: ['" ALICE "']\n"
                           "        headerField: X-User\n"));
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    auth_request(&t, &loop, "YWxpY2U6d29uZGVybGFuZA=="); /* alice:wonderland */
    ck_assert_int_eq(t.resumed_with, MW_CONTINUE);
    ck_assert_str_eq(mwt_req_field(&t, "X-User"), "alice");
    mwt_end(&t);
    /* The success is cached: the same credentials do not pause again. */
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n"
                                     "Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n\r\n"),
                     MW_CONTINUE);
    mwt_end(&t);
    auth_request(&t, &loop, "YWxpY2U6d3Jvbmc="); /* alice:wrong */
    ck_assert_int_eq(t.resumed_with, MW_STOP);
    ck_assert_int_eq(t.m->reply_status, 401);
    mwt_teardown(&t);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_pause");
    TCase *tc = tcase_create("pause");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, timer_resumes_once);
    tcase_add_test(tc, work_then_stop);
    tcase_add_test(tc, destroy_cancels_timer);
    tcase_add_test(tc, destroy_cancels_work);
    tcase_add_test(tc, no_loop_no_pause);
    tcase_add_test(tc, basic_auth_bcrypt_on_the_pool);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
