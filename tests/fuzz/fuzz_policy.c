/* libFuzzer target for the policy loader (report/policy.c): any bytes as a policy file; a
 * rejected one must come with a message naming the file. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "report/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_policy *p = NULL;
    char err[REPORT_POLICY_ERR_CAP];
    err[0] = 0;
    int rc = report_policy_parse(&p, "fuzz.yaml", data, size, err, sizeof(err));
    if (rc != 0 && strncmp(err, "fuzz.yaml", 9) != 0)
        abort();
    report_policy_free(p);
    return 0;
}
