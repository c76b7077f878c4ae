/* Unit tests for report/fleet.c and its renderers: the model's counts from fixtures whose
 * numbers are known (fixtures/baseline/README.md), the finding changes against a baseline as
 * caprobe diff counts them, the escaping of markdown, CSV and HTML on a record whose message
 * holds every kind of byte a hand-made or hostile file may carry, and the HTML report's lists
 * written once by list id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/fleet.h"
#include "tls/wire/error.h"
#include "testutil.h"

static char *fixture_path(const char *name)
{
    return testutil_fixture_path("baseline", name);
}

static struct report_fleet *load(const char *scan, const char *base)
{
    char *s = fixture_path(scan), *b = base ? fixture_path(base) : NULL;
    struct report_fleet *f = NULL;
    char err[512];
    if (report_fleet_load(&f, s, b, err, sizeof(err)))
        fail_msg("%s: %s", scan, err);
    free(s);
    free(b);
    return f;
}

/* The whole output of a renderer, NUL-terminated, with --targets targets and --names names. */
static char *render_opts(const struct report_fleet *f, enum report_fleet_format format,
                         size_t targets, size_t names)
{
    char *p;
    size_t n;
    FILE *out = open_memstream(&p, &n);
    assert_non_null(out);
    struct report_fleet_opts o = {.format = format, .names = names, .targets = targets};
    int rc = format == REPORT_FLEET_CSV    ? report_fleet_csv_write(out, f)
             : format == REPORT_FLEET_HTML ? report_fleet_html_write(out, f, &o)
                                           : report_fleet_doc_write(out, f, &o);
    assert_int_equal(rc, 0);
    fclose(out);
    return p;
}

static char *render_targets(const struct report_fleet *f, enum report_fleet_format format,
                            size_t targets)
{
    return render_opts(f, format, targets, 5);
}

static char *render(const struct report_fleet *f, enum report_fleet_format format)
{
    return render_targets(f, format, REPORT_FLEET_TARGETS_ALL);
}

/* fleet.jsonl: two targets, four findings; both lists are {Issuing CA 1, Test Root}. */
static void test_model(void **state)
{
    (void)state;
    struct report_fleet *f = load("fleet.jsonl", NULL);
    assert_int_equal(f->n, 2);
    assert_int_equal(f->probed, 2);
    assert_int_equal(f->unprobed, 0);
    assert_int_equal(f->with_findings, 2);
    assert_int_equal(f->findings, 4);
    assert_int_equal(f->by_severity[REPORT_SEV_HIGH], 1);
    assert_int_equal(f->by_severity[REPORT_SEV_INFO], 1);
    assert_string_equal(f->t[0].rec->target, "fleet-a.example.com:443"); /* worst first */
    assert_int_equal(f->t[0].worst, REPORT_SEV_HIGH);
    assert_int_equal(f->t[0].n_groups, 3);
    assert_int_equal(f->t[1].n_groups, 2);
    assert_int_equal(f->n_rules, 4);
    assert_string_equal(f->rules[0].rule, "sni-mismatch");
    assert_int_equal(f->buckets[REPORT_FLEET_2_4], 2); /* 2 names; 3 entries, a repeat */
    assert_int_equal(f->bucket_bytes[REPORT_FLEET_2_4], 195);
    assert_int_equal(f->distinct_lists, 1); /* the same set in both: one list id */
    assert_int_equal(f->n_top, 2);
    assert_int_equal(f->top[0].targets, 2);
    assert_string_equal(f->top[0].dn, "CN=caprobe Issuing CA 1,O=caprobe,C=DE");
    assert_int_equal(f->n_worst, 2);
    report_fleet_free(f);

    /* against a baseline: as caprobe diff counts (test_baseline.c, diff-findings.txt) */
    f = load("findings-new.jsonl", "findings-old.jsonl");
    assert_int_equal(f->new, 4);
    assert_int_equal(f->changed, 2);
    assert_int_equal(f->resolved, 4);
    assert_int_equal(f->added, 1);
    assert_int_equal(f->removed, 1);
    assert_int_equal(f->n, 5);
    assert_int_equal(f->n_removed, 1);
    assert_string_equal(f->t[f->n].rec->target, "fb.example.com:443");
    assert_true(f->t[f->n].removed);
    report_fleet_free(f);
}

/* A message with a pipe, a newline, markup, an entity's start, an escape sequence, backticks, a
 * URL, a www. name and quotes; a remedy that starts like a formula. */
static void test_escaping(void **state)
{
    (void)state;
    struct report_fleet *f = load("hostile.jsonl", NULL);
    char *md = render(f, REPORT_FLEET_MARKDOWN);
    assert_non_null(strstr(md, "a\\|b\\\\x0a&lt;b&gt;&amp;x\\\\x1b\\[31m \\`c\\` "
                               "http&#58;//evil.example www&#46;evil.example \"q\"\n"));
    assert_non_null(strstr(md, "  - fix: =1+1\n")); /* nothing to guard in markdown */
    assert_null(strchr(md, '\x1b'));
    free(md);
    /* what GitHub would make a mention, a reference or an e-mail link of: split by a comment */
    const char *name = f->scan_name;
    f->scan_name = "@octocat org/repo#12 GH-3 gh-4 a@b.example";
    md = render(f, REPORT_FLEET_MARKDOWN);
    assert_non_null(strstr(md, "Scan: @<!-- -->octocat org/repo#<!-- -->12 GH<!-- -->-3 "
                               "gh<!-- -->-4 a@<!-- -->b.example (1 target)\n"));
    free(md);
    f->scan_name = name;
    char *csv = render(f, REPORT_FLEET_CSV);
    assert_string_equal(csv, "\"target\",\"starttls\",\"verdict\",\"change\",\"rule\","
                             "\"severity\",\"variants\",\"message\",\"remedy\",\"old_severity\","
                             "\"old_message\",\"client_cert\",\"http\"\r\n"
                             "\"hostile.example.com:443\",\"\",\"findings\",\"\","
                             "\"a-later-rule\",\"high\",\"192.0.2.99, no SNI, TLS 1.2\","
                             "\"a|b\\x0a<b>&x\\x1b[31m `c` http://evil.example www.evil.example "
                             "\"\"q\"\"\",\"'=1+1\",\"\",\"\",\"\",\"\"\r\n");
    free(csv);
    char *text = render(f, REPORT_FLEET_TEXT);
    assert_null(strchr(text, '\x1b'));
    assert_non_null(strstr(text, "high     a-later-rule: a|b\\x0a<b>&x\\x1b[31m"));
    free(text);
    /* HTML: the markup characters as entities, controls as \xNN; the file name too */
    f->scan_name = "\xff<script>x</script>\x1b.jsonl";
    char *html = render(f, REPORT_FLEET_HTML);
    assert_non_null(strstr(html, "<span class=\"sev sev-high\">high</span> <code>a-later-rule"
                                 "</code>: a|b\\x0a&lt;b&gt;&amp;x\\x1b[31m `c` "
                                 "http://evil.example www.evil.example &quot;q&quot;\n"
                                 "<div class=\"fix\">fix: =1+1</div>"));
    assert_non_null(strstr(html, "<li data-r=\"a-later-rule\" data-s=\"high\">"));
    assert_non_null(strstr(html, "<title>caprobe report: \\xff&lt;script&gt;x&lt;/script&gt;"
                                 "\\x1b.jsonl</title>"));
    assert_null(strchr(html, '\x1b'));
    assert_int_equal(testutil_count(html, "<script"), 1); /* the report's own, at the end */
    assert_non_null(strstr(html, "</script>\n</body>\n</html>\n"));
    free(html);
    report_fleet_free(f);
}

/* fleet.jsonl's two targets advertise the same list: written once, linked from both. */
static void test_html_lists(void **state)
{
    (void)state;
    struct report_fleet *f = load("fleet.jsonl", NULL);
    char *html = render(f, REPORT_FLEET_HTML);
    char id[40];
    for (size_t i = 0; i < f->t[0].n_groups; i++) {
        const struct report_fleet_group *g = &f->t[0].groups[i];
        if (f->t[0].rec->t.v[g->variants[0]].state == REPORT_LIST_NAMES)
            snprintf(id, sizeof(id), "%016llx",
                     (unsigned long long)f->t[0].rec->detail[g->variants[0]].list_id);
    }
    char want[200];
    snprintf(want, sizeof(want),
             "<details class=\"list\" id=\"l-%s\"><summary><code>%s</code>: ", id, id);
    assert_non_null(strstr(html, want));
    assert_non_null(strstr(html, "advertised by 2 targets</summary>"));
    assert_int_equal(testutil_count(html, "<details class=\"list\""), 1);
    snprintf(want, sizeof(want), "<a href=\"#l-%s\" class=\"mono\">%s</a>", id, id);
    assert_true(testutil_count(html, want) >= 2);
    assert_int_equal(testutil_count(html, "<li>CN=caprobe Issuing CA 1,O=caprobe,C=DE</li>"), 1);
    assert_int_equal(testutil_count(html, "<article class=\"t\""), 2);
    free(html);
    report_fleet_free(f);
}

/* The text before the targets' sections (the summary, the charts), or the whole text. */
static size_t before_targets(const char *s, const char *mark)
{
    const char *p = strstr(s, mark);
    return p ? (size_t)(p - s) : strlen(s);
}

/* --targets N: the N worst targets get a section (then the removed ones: findings-new.jsonl
 * against findings-old.jsonl, 5 targets and 1 removed, worst first as below), the rest are
 * counted by verdict, and everything before the sections is the same as with every target. */
static void test_targets(void **state)
{
    (void)state;
    struct report_fleet *f = load("findings-new.jsonl", "findings-old.jsonl");
    static const char *const order[] = {"fa.example.com:443",
                                        "fe.example.com:25",
                                        "fc.example.com:443",
                                        "fd.example.com:443",
                                        "fe.example.com:25 (STARTTLS smtp)",
                                        "fb.example.com:443"};
    static const enum report_fleet_format formats[] = {REPORT_FLEET_TEXT, REPORT_FLEET_MARKDOWN};
    static const char *const heads[] = {"\n\nf", "\n### f"}; /* a target's section starts */
    static const char *const ends[] = {"  ", ": "};          /* after its name */
    for (size_t k = 0; k < 2; k++) {
        char *all = render(f, formats[k]);
        size_t summary = before_targets(all, "Targets\n");
        assert_int_equal(testutil_count(all, heads[k]), 6);
        assert_null(strstr(all, "not shown"));
        for (size_t n = 0; n <= 7; n++) {
            char *doc = render_targets(f, formats[k], n);
            assert_int_equal(before_targets(doc, "Targets\n"), summary);
            assert_int_equal(memcmp(doc, all, summary), 0);
            assert_int_equal(testutil_count(doc, heads[k]), n < 6 ? n : 6);
            for (size_t i = 0; i < 6; i++) {
                char head[64];
                snprintf(head, sizeof(head), "%s%s%s", heads[k], order[i] + 1, ends[k]);
                assert_int_equal(testutil_count(doc, head), i < n);
            }
            assert_int_equal(testutil_count(doc, "not shown"), n < 6);
            free(doc);
        }
        free(all);
    }
    /* what is left out, by verdict: 4 with findings, then one OK, one removed */
    char *doc = render_targets(f, REPORT_FLEET_MARKDOWN, 0);
    assert_non_null(strstr(doc, "## Targets\n\n6 targets not shown (4 with findings, 1 OK, 1 "
                                "removed): --targets all shows them.\n"));
    free(doc);
    doc = render_targets(f, REPORT_FLEET_TEXT, 4);
    assert_non_null(strstr(doc, "The 4 worst of 6 targets (--targets 4), worst first;"));
    assert_non_null(
        strstr(doc, "\n2 more targets not shown (1 OK, 1 removed): --targets all shows them.\n"));
    free(doc);
    /* one target shown, one left out: in the singular */
    doc = render_targets(f, REPORT_FLEET_TEXT, 1);
    assert_non_null(strstr(doc, "The worst of 6 targets (--targets 1); variants with the same "
                                "answer share a line.\n"));
    free(doc);
    doc = render_targets(f, REPORT_FLEET_TEXT, 5);
    assert_non_null(
        strstr(doc, "\n1 more target not shown (1 removed): --targets all shows it.\n"));
    free(doc);
    char *one = render_targets(f, REPORT_FLEET_HTML, 1),
         *none = render_targets(f, REPORT_FLEET_HTML, 0),
         *five = render_targets(f, REPORT_FLEET_HTML, 5);
    assert_non_null(strstr(one, "<p id=\"cut\">The worst of 6 targets has a section here "
                                "(caprobe report --targets 1); the summary counts them all."));
    assert_non_null(strstr(none, "<p id=\"cut\">No target has a section here (caprobe report "
                                 "--targets none); the summary counts all 6.</p>"));
    assert_non_null(strstr(five, "<p id=\"rest\">1 more target not shown (1 removed): caprobe "
                                 "report --targets all shows it.</p>"));
    free(one);
    free(none);
    free(five);

    /* HTML: the sections, the lists of those targets, a link from the worst targets only to a
     * section that is there */
    char *html = render_targets(f, REPORT_FLEET_HTML, 2);
    assert_int_equal(testutil_count(html, "<article class=\"t\""), 2);
    assert_non_null(strstr(html, "<p id=\"cut\">The 2 worst of 6 targets have a section here "
                                 "(caprobe report --targets 2); the summary counts them all."));
    assert_non_null(strstr(html, "<p id=\"rest\">4 more targets not shown (2 with findings, 1 OK, "
                                 "1 removed): caprobe report --targets all shows them.</p>"));
    assert_non_null(strstr(html, "<a href=\"#t1\" class=\"mono\">fa.example.com:443</a>"));
    assert_non_null(strstr(html, "<a href=\"#t2\" class=\"mono\">fe.example.com:25</a>"));
    assert_non_null(strstr(html, "<span class=\"mono\">fc.example.com:443</span></td>"));
    assert_null(strstr(html, "href=\"#t3\""));
    free(html);
    report_fleet_free(f);

    f = load("fleet.jsonl", NULL); /* two targets, one list */
    html = render_targets(f, REPORT_FLEET_HTML, 0);
    assert_int_equal(testutil_count(html, "<article class=\"t\""), 0);
    assert_int_equal(testutil_count(html, "<details class=\"list\""), 0);
    assert_non_null(strstr(html, ": 0 of the fleet's 1 list.</p>"));
    free(html);
    html = render_targets(f, REPORT_FLEET_HTML, 1);
    assert_int_equal(testutil_count(html, "<details class=\"list\""), 1);
    assert_non_null(strstr(html, "advertised by 1 target</summary>"));
    free(html);
    report_fleet_free(f);
}

/* inputs.jsonl: three lines of the target list that were no target, around one record; each
 * shown in every format with where it was, its text and why, escaped for the format. */
static void test_bad_targets(void **state)
{
    (void)state;
    struct report_fleet *f = load("inputs.jsonl", NULL);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->input_errors, 3);
    const struct report_baseline_input *in = report_baseline_inputs(f->scan);
    assert_string_equal(in->where, "targets.txt:1");
    assert_string_equal(in->text, "foo:99999");
    assert_string_equal(in->why, "port must be a number from 1 to 65535");
    assert_int_equal(in->line, 1);
    in = in->next;
    assert_string_equal(in->where, "list:with:colons.txt:12"); /* the first :DIGITS: */
    assert_string_equal(in->why, "why <i>&\a");
    assert_int_equal(in->line, 3);
    in = in->next; /* no FILE:LINE: the record's own line */
    size_t n = strlen(in->where);
    assert_true(n > 15 && strcmp(in->where + n - 15, "/inputs.jsonl:4") == 0);
    assert_string_equal(in->why, "a:1:b: no line named");
    assert_null(in->next);

    char *text = render(f, REPORT_FLEET_TEXT);
    assert_non_null(strstr(text, "\nBad target lines\n----------------\nThese lines of the "
                                 "target list were no target and were not probed:\n\n"));
    /* a table: its columns as wide as the widest cell, here the path of the fixture */
    const char *row = strstr(text, "\n  list:with:colons.txt:12  ");
    assert_non_null(row);
    assert_non_null(strstr(row, "  <b>|`x`|\\x1b[31m @octocat #12 \"q\"  "));
    assert_non_null(strstr(row, "  why <i>&\\x07\n"));
    assert_non_null(strstr(text, "  =HYPERLINK(\"http://evil.example\")  a:1:b: no line named\n"));
    assert_null(strchr(text, '\x1b'));
    assert_null(strchr(text, '\a'));
    free(text);

    char *md = render(f, REPORT_FLEET_MARKDOWN);
    assert_non_null(strstr(md, "\n### Bad target lines\n\nThese lines of the target list were no "
                               "target and were not probed:\n\n| line "));
    row = strstr(md, "\n| list:with:colons.txt:12 ");
    assert_non_null(row);
    assert_non_null(strstr(row, " | &lt;b&gt;\\|\\`x\\`\\|\\\\x1b\\[31m @<!-- -->octocat "
                                "#<!-- -->12 \"q\" "));
    assert_non_null(strstr(row, " | why &lt;i&gt;&amp;\\\\x07 "));
    assert_non_null(strstr(md, " | =HYPERLINK(\"http&#58;//evil.example\") "));
    free(md);

    char *csv = render(f, REPORT_FLEET_CSV);
    assert_non_null(strstr(csv, "\r\n\"foo:99999\",\"\",\"bad target line\",\"\",\"\",\"\",\"\","
                                "\"targets.txt:1: port must be a number from 1 to 65535\","
                                "\"\",\"\",\"\",\"\",\"\"\r\n"));
    assert_non_null(
        strstr(csv, "\r\n\"<b>|`x`|\\x1b[31m @octocat #12 \"\"q\"\"\",\"\","
                    "\"bad target line\",\"\",\"\",\"\",\"\","
                    "\"list:with:colons.txt:12: why <i>&\\x07\",\"\",\"\",\"\",\"\",\"\"\r\n"));
    assert_non_null(strstr(csv, "\r\n\"'=HYPERLINK(\"\"http://evil.example\"\")\",\"\","
                                "\"bad target line\","));
    assert_non_null(
        strstr(csv, "/inputs.jsonl:4: a:1:b: no line named\",\"\",\"\",\"\",\"\",\"\"\r\n"));
    assert_int_equal(testutil_count(csv, "\r\n"),
                     1 + 3 + 3); /* the header, the findings, the lines */
    free(csv);

    char *html = render(f, REPORT_FLEET_HTML);
    assert_non_null(strstr(html, "<tr><th scope=\"row\"><a href=\"#bad-targets\">lines that "
                                 "were no target</a></th><td class=\"n\">3</td></tr>"));
    assert_non_null(strstr(html, "<tr><td class=\"mono\">list:with:colons.txt:12</td><td><code>"
                                 "&lt;b&gt;|`x`|\\x1b[31m @octocat #12 &quot;q&quot;</code></td>"
                                 "<td>why &lt;i&gt;&amp;\\x07</td></tr>\n"));
    assert_non_null(strstr(html, "<td><code>=HYPERLINK(&quot;http://evil.example&quot;)</code>"
                                 "</td><td>a:1:b: no line named</td></tr>\n"));
    assert_int_equal(testutil_count(html, "<tr><td class=\"mono\">"), 3);
    assert_null(strchr(html, '\x1b'));
    free(html);
    report_fleet_free(f);
}

/* Words a reader sees: counts in the singular, no "more" when none was shown, no pointer to a
 * file of the repository (a report travels alone). */
static void test_wording(void **state)
{
    (void)state;
    struct report_fleet *f = load("fleet.jsonl", NULL);
    static const enum report_fleet_format formats[] = {REPORT_FLEET_TEXT, REPORT_FLEET_MARKDOWN};
    for (size_t k = 0; k < 2; k++) {
        char *doc = render_opts(f, formats[k], REPORT_FLEET_TARGETS_ALL, 0); /* --names 0 */
        assert_non_null(strstr(doc, "2 names not shown (--names all)\n"));
        assert_non_null(strstr(doc, "3 names not shown (--names all)\n"));
        assert_null(strstr(doc, "more (--names all)"));
        free(doc);
        doc = render_opts(f, formats[k], REPORT_FLEET_TARGETS_ALL, 1);
        assert_non_null(strstr(doc, "... and 1 more (--names all)\n"));
        assert_null(strstr(doc, "not shown (--names all)"));
        free(doc);
    }
    for (int k = REPORT_FLEET_TEXT; k <= REPORT_FLEET_HTML; k++)
        for (size_t n = 0; n < 3; n++) { /* --targets 0, 1, all */
            char *doc = render_targets(f, (enum report_fleet_format)k,
                                       n < 2 ? n : REPORT_FLEET_TARGETS_ALL);
            assert_null(strstr(doc, "docs/"));
            if (k == REPORT_FLEET_HTML)
                assert_non_null(strstr(doc, "by list id (the same names, in any order, give the "
                                            "same id; <code>man caprobe</code> tells how it is "
                                            "made), with its names sorted by text: "));
            free(doc);
        }
    report_fleet_free(f);

    f = load("one-bad-line.jsonl", NULL);
    assert_int_equal(report_baseline_bad_count(f->scan), 1);
    for (size_t k = 0; k < 2; k++) {
        char *doc = render(f, formats[k]);
        assert_non_null(strstr(doc, "one-bad-line.jsonl could not be read and was left out:\n"));
        assert_non_null(strstr(doc, "Bad input: 1 line of "));
        free(doc);
    }
    char *html = render(f, REPORT_FLEET_HTML);
    assert_non_null(strstr(html, "<h3>Bad input</h3>\n<p>1 line of <code>"));
    assert_non_null(strstr(html, "one-bad-line.jsonl</code> could not be read and was left out:"));
    free(html);
    report_fleet_free(f);
    f = load("tolerant.jsonl", NULL);
    html = render(f, REPORT_FLEET_HTML);
    assert_non_null(strstr(html, "tolerant.jsonl</code> could not be read and were left out:"));
    free(html);
    report_fleet_free(f);
}

static void test_errors(void **state)
{
    (void)state;
    struct report_fleet *f = (struct report_fleet *)1;
    char err[512], *bad = fixture_path("tolerant.jsonl"), *good = fixture_path("fleet.jsonl");
    /* the baseline is read strictly */
    assert_int_equal(report_fleet_load(&f, good, bad, err, sizeof(err)), TLS_E_INVALID);
    assert_null(f);
    assert_non_null(strstr(err, "tolerant.jsonl:2: not JSON"));
    /* the scan tolerantly */
    assert_int_equal(report_fleet_load(&f, bad, good, err, sizeof(err)), 0);
    assert_int_equal(report_baseline_bad_count(f->scan), 3);
    assert_int_equal(f->n, 3);
    report_fleet_free(f);
    assert_int_equal(report_fleet_load(&f, "-", "-", err, sizeof(err)), TLS_E_INVALID);
    /* a baseline with no record: every target would be added, every finding new */
    char *blank = fixture_path("blank.jsonl");
    assert_int_equal(report_fleet_load(&f, good, blank, err, sizeof(err)), TLS_E_INVALID);
    assert_null(f);
    assert_non_null(strstr(err, "blank.jsonl: nothing to compare with: its 3 lines are blank"));
    /* a scan with none loads; the caller tells (report_baseline_empty) */
    assert_int_equal(report_fleet_load(&f, blank, NULL, err, sizeof(err)), 0);
    assert_true(report_baseline_empty(f->scan, "nothing to report", err, sizeof(err)));
    report_fleet_free(f);
    free(blank);
    free(bad);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),       cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_html_lists),  cmocka_unit_test(test_targets),
        cmocka_unit_test(test_bad_targets), cmocka_unit_test(test_wording),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
