/* Document renderers: SARIF 2.1.0 and JUnit XML. Both are one document for the whole scan while
 * caprobe finishes one target at a time, so each has a begin / target / end lifecycle that
 * streams: nothing of a target is kept once its call returns (what must come before the
 * targets, like JUnit's counts, is spooled to a tmpfile()). Outputs are deterministic: no
 * clock, no host name, no randomness. */
#ifndef REPORT_WRITER_H
#define REPORT_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "rules.h"

/* SARIF 2.1.0 (OASIS), one run: every rule of the table in tool.driver.rules, one result per
 * finding (level error / warning / note for critical-high / medium / low-info), input errors
 * and failed probes as toolExecutionNotifications (error / warning); an interrupted scan as an
 * error notification "interrupted" and executionSuccessful false. */
struct report_sarif;

/* Write the document's head to f (not owned; f stays open). tool_version may be NULL. Returns
 * 0, TLS_E_NOMEM or TLS_E_IO. */
int report_sarif_begin(struct report_sarif **out, FILE *f, const char *tool_version);
/* Results and notifications of one target. Returns 0, TLS_E_NOMEM or TLS_E_IO; an error is
 * kept and returned again by report_sarif_end. */
int report_sarif_target(struct report_sarif *s, const struct report_target *t);
/* The scan was stopped before every target was probed, by the signal named (e.g. "SIGINT"; ""
 * when none is to be named): report_sarif_end marks the document incomplete. */
void report_sarif_interrupted(struct report_sarif *s, const char *signal_name);
/* Close the document, flush f and free s, also after an error (s NULL: nothing, 0). Returns 0
 * when the whole document was written, else the first error. */
int report_sarif_end(struct report_sarif *s);

/* JUnit XML: <testsuites><testsuite name="caprobe"> with one <testcase> per target: a
 * <failure> when a finding is at or above fail_on, an <error> for an input error or when no
 * probe of the target succeeded, else a pass; <system-out> summarises the variants. An
 * interrupted scan adds the property caprobe.interrupted (the signal's name) and the
 * testsuite's <system-err> saying the report is incomplete; the counts are those of the test
 * cases written. */
struct report_junit;

/* Nothing is written to f before report_junit_end (the counts come first). Returns 0,
 * TLS_E_NOMEM or TLS_E_IO (no tmpfile). */
int report_junit_begin(struct report_junit **out, FILE *f, const char *tool_version,
                       enum report_severity fail_on);
int report_junit_target(struct report_junit *j, const struct report_target *t);
/* As report_sarif_interrupted: report_junit_end marks the document incomplete. */
void report_junit_interrupted(struct report_junit *j, const char *signal_name);
/* Write the document to f, flush it and free j, also after an error (j NULL: nothing, 0). */
int report_junit_end(struct report_junit *j);

/* OpenMetrics 1.0 text (docs/metrics.md) that is also valid Prometheus text 0.0.4, the format
 * node_exporter's textfile collector and promtool read: every family a gauge (info-style series
 * are gauges of value 1 named *_info, as Prometheus text has no info type), UNIT lines and the
 * closing "# EOF" are comments to a Prometheus text parser. A family's samples must stand
 * together, so they are gathered per family (in memory up to 64 KiB each, beyond it in a
 * tmpfile()) and written at the end. Label values are escaped as both formats require. */
struct report_metrics;

/* Nothing is written to f before report_metrics_end. Returns 0 or TLS_E_NOMEM. */
int report_metrics_begin(struct report_metrics **out, FILE *f);
/* One target's series. A repeated target (the same name and STARTTLS protocol, as two equal
 * bad lines of a -i file give) is skipped: a series may appear once. Returns 0, TLS_E_NOMEM or
 * TLS_E_IO; an error is kept and returned again by report_metrics_end. */
int report_metrics_target(struct report_metrics *m, const struct report_target *t);
/* Write every family with its HELP, TYPE and UNIT, then "# EOF"; flush f and free m, also after
 * an error (m NULL: nothing, 0). */
int report_metrics_end(struct report_metrics *m);
/* The exposition writer of both formats, for the series above and for the exporter's own
 * (probe/exporter.c). A counter's samples are NAME_total in both; its family is NAME in
 * OpenMetrics and NAME_total in Prometheus text 0.0.4, so a counter is always named here
 * without _total and this is the one place that adds it. */
enum report_metric_type {
    REPORT_METRIC_GAUGE,
    REPORT_METRIC_COUNTER,
};
/* "# HELP", "# TYPE" and, with a unit (NULL: none), "# UNIT" of a family into b; om: OpenMetrics
 * (else Prometheus text). help holds no backslash, double quote or line feed. */
struct report_buf;
void report_metrics_family(struct report_buf *b, bool om, const char *name,
                           enum report_metric_type type, const char *unit, const char *help);
/* One sample into b: NAME{LABELS,MORE} VALUE, the braces left out when both are NULL or empty;
 * labels and more are name="value" pairs already escaped (report_metrics_label_value). */
void report_metrics_sample(struct report_buf *b, const char *name, enum report_metric_type type,
                           const char *labels, const char *more, const char *value);
void report_metrics_sample_u64(struct report_buf *b, const char *name, enum report_metric_type type,
                               const char *labels, const char *more, uint64_t value);
/* Label value escaping of both formats (backslash, double quote, line feed), with C0 controls,
 * DEL and bytes that are not UTF-8 written as \xNN (tls/wire/escape.h) so that every value is
 * UTF-8 and shows nothing but text. */
void report_metrics_label_value(struct report_buf *b, const char *s);

#endif
