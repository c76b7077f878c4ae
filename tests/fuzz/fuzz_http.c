/* libFuzzer target for tls/http.c: the input is what a server sent after the request. */
#include "tests/fuzz/fuzz.h"
#include "tls/wire/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_http_head h;
    if (tls_http_head_parse(&h, data, size) == 0 && h.have_status) {
        /* the views stay inside the input */
        if (h.line < data || h.line + h.line_len > data + size || h.status < 100 ||
            h.status > 999 || (h.server && h.server + h.server_len > data + size))
            __builtin_trap();
    }
    return 0;
}
