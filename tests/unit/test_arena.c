/* Unit tests for tls/arena.c: alignment, large blocks, the cap, strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tls/wire/arena.h"

static void test_alloc_and_align(void **state)
{
    (void)state;
    struct tls_arena a;
    tls_arena_init(&a, 0);
    for (size_t n = 1; n < 3000; n += 7) {
        uint8_t *p = tls_arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, n);
    }
    uint8_t *big = tls_arena_alloc(&a, 100000);
    assert_non_null(big);
    memset(big, 1, 100000);
    tls_arena_free(&a);
    tls_arena_free(&a); /* twice is harmless */
    tls_arena_free(NULL);
}

static void test_cap(void **state)
{
    (void)state;
    struct tls_arena a;
    tls_arena_init(&a, 10000);
    size_t got = 0;
    while (tls_arena_alloc(&a, 100))
        got += 100;
    assert_true(got > 5000);
    assert_true(a.used <= 10000);
    assert_null(tls_arena_alloc(&a, 20000));
    tls_arena_free(&a);
}

static void test_strings(void **state)
{
    (void)state;
    struct tls_arena a;
    tls_arena_init(&a, 0);
    assert_string_equal(tls_arena_strdup(&a, "CN=x"), "CN=x");
    assert_null(tls_arena_strdup(&a, NULL));
    assert_string_equal(tls_arena_printf(&a, "%s:%d", "host", 443), "host:443");
    tls_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_and_align),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
