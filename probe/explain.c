/* --explain RULE: the rule table's own words (report/rules.h), for people reading a finding.
 * Reads the table and prints; nothing else. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "tls/wire/escape.h"
#include "tls/wire/similar.h"

static void explain_one(const struct report_rule *r, FILE *out)
{
    fprintf(out, "%s (default severity %s)\n  %s\n\n", r->name, report_severity_name(r->severity),
            r->title);
    fprintf(out, "What it means:\n  %s\n\nHow to fix:\n  %s\n", r->help, r->remedy);
}

int probe_explain(const char *rule, FILE *out, FILE *err)
{
    if (strcmp(rule, "all") == 0) {
        for (int i = 0; i < REPORT_RULE_COUNT; i++) {
            if (i)
                fprintf(out, "\n");
            explain_one(report_rule_get((enum report_rule_id)i), out);
        }
        return 0;
    }
    const struct report_rule *r = report_rule_find(rule);
    if (r == NULL) {
        const char *names[REPORT_RULE_COUNT];
        for (int i = 0; i < REPORT_RULE_COUNT; i++)
            names[i] = report_rule_get((enum report_rule_id)i)->name;
        char shown[128];
        long near = tls_closest(rule, names, REPORT_RULE_COUNT);
        tls_escape_term(shown, sizeof(shown), rule, 0);
        if (near >= 0) {
            fprintf(err, "caprobe: --explain: no rule '%s'; did you mean '%s'?\n", shown,
                    names[near]);
            return PROBE_EXIT_USAGE;
        }
        fprintf(err, "caprobe: --explain: no rule '%s'; the rules are:", shown);
        for (int i = 0; i < REPORT_RULE_COUNT; i++)
            fprintf(err, " %s", report_rule_get((enum report_rule_id)i)->name);
        fprintf(err, "\n");
        return PROBE_EXIT_USAGE;
    }
    explain_one(r, out);
    return 0;
}
