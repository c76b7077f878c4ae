/* libFuzzer target for tls/wire/starttls.c: the input is a server's side of a STARTTLS dialogue.
 * Its first byte picks the protocol, its second the size of the pieces it arrives in. */
#include "tests/fuzz/fuzz.h"
#include "tls/wire/starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct tls_starttls *st = malloc(sizeof(*st));
    if (st == NULL)
        return 0;
    tls_starttls_init(st, 1 + data[0] % TLS_STARTTLS_PROTO_LAST, "mx.example",
                      4096u << (data[1] & 5));
    size_t chunk = 1 + (data[1] >> 3);
    for (size_t off = 2; off < size; off += chunk) {
        size_t out_len;
        tls_starttls_output(st, &out_len);
        tls_starttls_output_consume(st, out_len / 2 + 1);
        tls_starttls_input(st, data + off, size - off < chunk ? size - off : chunk);
    }
    tls_starttls_eof(st);
    char msg[512];
    size_t out_len;
    tls_starttls_output(st, &out_len);
    /* the output and the counts stay in bounds; a failure says why in clean text */
    if (out_len > TLS_STARTTLS_OUT || st->len > TLS_STARTTLS_BUF || st->received > st->max_bytes ||
        (st->status == TLS_STARTTLS_FAILED) != (st->fail != TLS_STARTTLS_FAIL_NONE) ||
        st->status == TLS_STARTTLS_RUNNING)
        abort();
    tls_starttls_describe(st, msg, sizeof(msg));
    if (!fuzz_text_is_clean(msg, strlen(msg)))
        abort();
    free(st);
    return 0;
}
