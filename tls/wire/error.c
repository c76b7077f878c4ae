/* Names and messages of the error table in error.h. Never allocates. */
#include "error.h"

#define TLS_ERR_NAME(name, msg) [TLS_E_##name - TLS_E_FIRST_ - 1] = #name,
#define TLS_ERR_MSG(name, msg) [TLS_E_##name - TLS_E_FIRST_ - 1] = msg,
static const char *const names[] = {TLS_ERRORS(TLS_ERR_NAME)};
static const char *const msgs[] = {TLS_ERRORS(TLS_ERR_MSG)};

static int index_of(int err)
{
    int i = err - TLS_E_FIRST_ - 1;
    if (i < 0 || i >= (int)(sizeof(names) / sizeof(names[0])))
        return -1;
    return i;
}

const char *tls_err_name(int err)
{
    if (err == 0)
        return "OK";
    int i = index_of(err);
    return i < 0 ? "UNKNOWN" : names[i];
}

const char *tls_err_str(int err)
{
    if (err == 0)
        return "ok";
    int i = index_of(err);
    return i < 0 ? "unknown error" : msgs[i];
}
