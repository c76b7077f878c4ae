/* A YAML document read for a schema of ours (yamldoc.h): reading the file within its size, the
 * checks every such file gets, the walk over a mapping's keys, and the helpers that say in one
 * line where a node stands and what it is. What the values mean is the caller's. */
#include "yamldoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/wire/escape.h"
#include "tls/wire/utf8.h"

int report_yaml_fail(struct report_yaml *y, int rc, size_t line, size_t col, const char *fmt, ...)
{
    if (y->err == NULL || y->err_cap == 0)
        return rc;
    int n = line ? snprintf(y->err, y->err_cap, "%s:%zu:%zu: ", y->name, line, col)
                 : snprintf(y->err, y->err_cap, "%s: ", y->name);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < y->err_cap)
        vsnprintf(y->err + n, y->err_cap - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

static int nomem(struct report_yaml *y)
{
    return report_yaml_fail(y, TLS_E_NOMEM, 0, 0, "out of memory");
}

/* Line and column (1-based, in characters, as libyaml counts) of a byte offset. */
static void offset_pos(const uint8_t *s, size_t len, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if ((s[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

static int syntax_error(struct report_yaml *y, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return nomem(y);
    case YAML_READER_ERROR: {
        size_t line, col;
        offset_pos(y->text, y->len, p->problem_offset, &line, &col);
        if (p->problem_value >= 0)
            return report_yaml_fail(y, TLS_E_INVALID, line, col, "YAML syntax error: %s (U+%04X)",
                                    problem, (unsigned)p->problem_value);
        return report_yaml_fail(y, TLS_E_INVALID, line, col, "YAML syntax error: %s", problem);
    }
    case YAML_COMPOSER_ERROR: /* the only one left once aliases are refused */
        return REPORT_YAML_FAIL_AT(y, p->problem_mark,
                                   "the same anchor is defined twice (first at %zu:%zu); anchors "
                                   "do nothing in a %s: remove them",
                                   p->context_mark.line + 1, p->context_mark.column + 1,
                                   y->kind->noun);
    default: {
        size_t at = p->problem_mark.index;
        char hint[160] = "";
        if (at < y->len && y->text[at] == '\t')
            snprintf(hint, sizeof(hint), "; YAML indents with spaces, not tabs");
        else if (p->context && strstr(p->context, "alias"))
            snprintf(hint, sizeof(hint), "; quote a value that starts with '*', e.g. %s",
                     y->kind->star_quote);
        if (p->context)
            return REPORT_YAML_FAIL_AT(
                y, p->problem_mark, "YAML syntax error: %s (%s at %zu:%zu)%s", problem, p->context,
                p->context_mark.line + 1, p->context_mark.column + 1, hint);
        return REPORT_YAML_FAIL_AT(y, p->problem_mark, "YAML syntax error: %s%s", problem, hint);
    }
    }
}

static int parser_open(struct report_yaml *y, yaml_parser_t *p)
{
    if (!yaml_parser_initialize(p))
        return nomem(y);
    yaml_parser_set_input_string(p, y->text, y->len);
    yaml_parser_set_encoding(p, YAML_UTF8_ENCODING);
    return 0;
}

/* The first pass, over events: syntax errors, aliases (whose name and place the document API
 * loses), a second document and an empty file are reported where they stand, and the tree is
 * bounded before yaml_parser_load builds it. Stopping at the depth cap also stops the scanner,
 * which slows down with every level of nesting. */
static int prescan(struct report_yaml *y)
{
    const struct report_yaml_kind *k = y->kind;
    yaml_parser_t p;
    int rc = parser_open(y, &p);
    unsigned depth = 0;
    size_t nodes = 0, docs = 0;
    while (rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(y, &p);
            break;
        }
        yaml_event_type_t t = ev.type;
        bool open = t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT;
        if (t == YAML_ALIAS_EVENT)
            rc = REPORT_YAML_FAIL_AT(y, ev.start_mark,
                                     "aliases (*%s) are not supported in a %s: write the value "
                                     "out, or quote it if it is a pattern (\"*%s\")",
                                     (const char *)ev.data.alias.anchor, k->noun,
                                     (const char *)ev.data.alias.anchor);
        else if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1)
            rc = REPORT_YAML_FAIL_AT(y, ev.start_mark,
                                     "a %s is one YAML document, but a second one starts here",
                                     k->noun);
        else if (t == YAML_STREAM_END_EVENT && docs == 0)
            rc = REPORT_YAML_FAIL_AT(y, ev.start_mark, "%s", k->empty);
        else if ((open || t == YAML_SCALAR_EVENT) && ++nodes > k->nodes_max)
            rc = REPORT_YAML_FAIL_AT(y, ev.start_mark,
                                     "more than %u YAML values, lists and mappings: is this a %s? "
                                     "(%s)",
                                     k->nodes_max, k->noun, k->size_note);
        else if (open && ++depth > k->depth_max)
            rc = REPORT_YAML_FAIL_AT(y, ev.start_mark,
                                     "lists and mappings nested more than %u deep (a %s needs %u)",
                                     k->depth_max, k->noun, k->depth_needed);
        else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT)
            depth--;
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}

int report_yaml_read(struct report_yaml *y, uint8_t **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(y->name, "rb");
    if (f == NULL)
        return report_yaml_fail(y, TLS_E_IO, 0, 0, "cannot read: %s", strerror(errno));
    /* one byte more than a document may hold, so that a larger file is refused as one */
    uint8_t *buf = malloc(y->kind->bytes_max + 1);
    size_t n = buf ? fread(buf, 1, y->kind->bytes_max + 1, f) : 0;
    int rc = buf == NULL ? nomem(y)
             : ferror(f) ? report_yaml_fail(y, TLS_E_IO, 0, 0, "cannot read: %s",
                                            strerror(errno ? errno : EIO))
                         : 0;
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return 0;
}

int report_yaml_open(struct report_yaml *y)
{
    if (y->err && y->err_cap)
        y->err[0] = 0;
    if (y->len > y->kind->bytes_max)
        return report_yaml_fail(y, TLS_E_INVALID, 0, 0, "larger than %zu MiB: is this a %s? (%s)",
                                y->kind->bytes_max >> 20, y->kind->noun, y->kind->size_note);
    size_t bad = tls_utf8_valid_prefix(y->text, y->len);
    if (bad < y->len) {
        size_t line, col;
        offset_pos(y->text, y->len, bad, &line, &col);
        return report_yaml_fail(y, TLS_E_INVALID, line, col,
                                "not UTF-8 (byte 0x%02x): save the %s as UTF-8 text", y->text[bad],
                                y->kind->noun);
    }
    int rc = prescan(y);
    if (rc)
        return rc;
    /* the second pass: the document, which the first pass has checked parses */
    yaml_parser_t p;
    if ((rc = parser_open(y, &p)))
        return rc;
    if (!yaml_parser_load(&p, &y->doc))
        rc = syntax_error(y, &p);
    yaml_parser_delete(&p);
    return rc;
}

void report_yaml_close(struct report_yaml *y)
{
    yaml_document_delete(&y->doc);
}

const yaml_node_t *report_yaml_node(struct report_yaml *y, int id)
{
    return yaml_document_get_node(&y->doc, id);
}

const yaml_node_t *report_yaml_root(struct report_yaml *y)
{
    return yaml_document_get_root_node(&y->doc);
}

bool report_yaml_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

const char *report_yaml_describe(const yaml_node_t *n, char *buf, size_t cap)
{
    if (n->type != YAML_SCALAR_NODE)
        return n->type == YAML_MAPPING_NODE ? "a mapping" : "a sequence";
    if (report_yaml_is_null(n))
        return "an empty value";
    const uint8_t *v = n->data.scalar.value;
    size_t len = n->data.scalar.length, o = 0, i = 0;
    buf[o++] = '\'';
    while (i < len) { /* escaped for a terminal (tls/wire/escape.h), room kept for "...'" */
        char unit[TLS_ESCAPE_UNIT_MAX];
        size_t ul, used = tls_escape_step(v + i, len - i, 0, unit, &ul);
        if (o + ul + 5 > cap)
            break;
        memcpy(buf + o, unit, ul);
        o += ul;
        i += used;
    }
    snprintf(buf + o, cap - o, "%s'", i < len ? "..." : "");
    return buf;
}

int report_yaml_got(struct report_yaml *y, const yaml_node_t *n, const char *fmt, ...)
{
    char what[256], desc[80];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return REPORT_YAML_FAIL_AT(y, n->start_mark, "%s, got %s", what,
                               report_yaml_describe(n, desc, sizeof(desc)));
}

const char *report_yaml_plain(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return NULL;
    const char *v = (const char *)n->data.scalar.value;
    return strlen(v) == n->data.scalar.length ? v : NULL;
}

int report_yaml_str(struct report_yaml *y, const yaml_node_t *n, const char **out)
{
    if ((*out = report_yaml_plain(n)) == NULL)
        return REPORT_YAML_FAIL_AT(y, n->start_mark, "a NUL character is not allowed here");
    return 0;
}

/* Levenshtein distance of short strings, for "did you mean"; large for long ones. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int report_yaml_unknown(struct report_yaml *y, const yaml_node_t *n, const char *kind,
                        const char *where, const char *const *names, size_t count)
{
    const char *s = (const char *)n->data.scalar.value, *best = NULL;
    size_t best_d = 2 + strlen(s) / 3; /* beyond this a suggestion is a guess */
    char list[1024], desc[80];
    size_t o = 0;
    list[0] = 0;
    for (size_t i = 0; i < count; i++) {
        size_t d = edit_distance(s, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
        int w = o < sizeof(list)
                    ? snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", names[i])
                    : 0;
        o += w > 0 ? (size_t)w : 0;
    }
    bool rule = strcmp(kind, "rule") == 0;
    if (best)
        return REPORT_YAML_FAIL_AT(y, n->start_mark, "unknown %s %s %s; did you mean '%s'? %s: %s",
                                   kind, report_yaml_describe(n, desc, sizeof(desc)), where, best,
                                   rule ? "The rules are" : "Expected one of", list);
    return REPORT_YAML_FAIL_AT(y, n->start_mark, "unknown %s %s %s; %s: %s", kind,
                               report_yaml_describe(n, desc, sizeof(desc)), where,
                               rule ? "the rules are" : "expected one of", list);
}

int report_yaml_list_next(struct report_yaml *y, const yaml_node_t *v, const char *key,
                          const char *expects, size_t *i, const yaml_node_t **item)
{
    if (v->type == YAML_SCALAR_NODE && !report_yaml_is_null(v)) {
        *item = v;
        return (*i)++ == 0;
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return report_yaml_got(y, v, "'%s' expects %s", key, expects);
    const yaml_node_item_t *it = v->data.sequence.items.start + *i;
    if (it >= v->data.sequence.items.top)
        return 0;
    (*i)++;
    *item = report_yaml_node(y, *it);
    if ((*item)->type != YAML_SCALAR_NODE || report_yaml_is_null(*item))
        return report_yaml_got(y, *item, "each item of '%s' expects %s", key, expects);
    return 1;
}

int report_yaml_keys(struct report_yaml *y, const yaml_node_t *m,
                     const struct report_yaml_keys *keys, const yaml_node_t **seen)
{
    const yaml_node_t *key_at[REPORT_YAML_KEYS_MAX] = {NULL};
    if (keys->n > REPORT_YAML_KEYS_MAX)
        return report_yaml_fail(y, TLS_E_INVALID, 0, 0, "internal: more than %d keys",
                                REPORT_YAML_KEYS_MAX);
    for (size_t i = 0; seen && i < keys->n; i++)
        seen[i] = NULL;
    for (const yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = report_yaml_node(y, pr->key), *v = report_yaml_node(y, pr->value);
        const char *key;
        if (k->type != YAML_SCALAR_NODE)
            return report_yaml_got(y, k, "expected a key (a name)");
        int rc = report_yaml_str(y, k, &key);
        if (rc)
            return rc;
        size_t i = 0;
        while (i < keys->n && strcmp(key, keys->names[i]) != 0)
            i++;
        if (i == keys->n)
            return keys->unknown
                       ? keys->unknown(keys->ctx, k, key)
                       : report_yaml_unknown(y, k, "key", keys->where, keys->names, keys->n);
        if (key_at[i])
            return REPORT_YAML_FAIL_AT(y, k->start_mark, "'%s' is given twice (first at %zu:%zu)",
                                       key, key_at[i]->start_mark.line + 1,
                                       key_at[i]->start_mark.column + 1);
        key_at[i] = k;
        if (seen)
            seen[i] = v;
        if (keys->visit && (rc = keys->visit(keys->ctx, i, v)))
            return rc;
    }
    return 0;
}
