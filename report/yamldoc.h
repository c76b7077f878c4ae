/* One YAML document read for a schema of ours (a policy, the exporter's configuration): the text
 * is checked to be UTF-8, a first pass over libyaml's events bounds the tree before it is built
 * (one document, no aliases, so no node is reached twice; a cap on nodes and on nesting), then
 * the node tree is loaded for the caller to walk. Every error is one line, "NAME:LINE:COLUMN:
 * what is wrong and what was expected" (a node's start mark; NAME alone when there is no
 * place), written into the caller's buffer; the first error ends the load. */
#ifndef REPORT_YAMLDOC_H
#define REPORT_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "tls/wire/error.h"

/* What a kind of document is called in messages, and its bounds. */
struct report_yaml_kind {
    const char *noun;       /* "policy": "a policy is one YAML document" */
    const char *size_note;  /* "policies are a few kilobytes" */
    const char *empty;      /* the message for a document with nothing in it */
    const char *star_quote; /* an example of a quoted value that starts with '*' */
    unsigned nodes_max;     /* scalars, lists and mappings at most */
    unsigned depth_max;     /* lists and mappings inside each other at most */
    unsigned depth_needed;  /* how deep a valid document goes, for the message */
    size_t bytes_max;       /* the document's size at most */
};

struct report_yaml {
    const struct report_yaml_kind *kind;
    const char *name; /* the file as the user named it, for messages */
    const uint8_t *text;
    size_t len;
    char *err; /* the caller's buffer for the one message */
    size_t err_cap;
    yaml_document_t doc; /* after report_yaml_open */
};

/* The file y->name whole into *text (malloc'd: the caller frees it) and *len, reading one byte
 * more than the kind's bytes_max so that report_yaml_open refuses a larger file as one: 0, or
 * TLS_E_IO ("cannot read: why") or TLS_E_NOMEM with the message in y->err. */
int report_yaml_read(struct report_yaml *y, uint8_t **text, size_t *len);
/* Check and load y->text (the fields above set): larger than the kind's bytes_max ("larger than
 * N MiB: is this a NOUN?"), not UTF-8, not one YAML document within the kind's bounds. 0, or
 * TLS_E_INVALID / TLS_E_NOMEM with the message in y->err. After 0, report_yaml_close frees the
 * tree. */
int report_yaml_open(struct report_yaml *y);
void report_yaml_close(struct report_yaml *y);

/* "NAME:LINE:COLUMN: message" (line 0: "NAME: message") into y->err; returns rc. */
int report_yaml_fail(struct report_yaml *y, int rc, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* An invalid document at a libyaml mark, which counts from 0 (messages from 1, as editors do). */
#define REPORT_YAML_FAIL_AT(y, mark, ...)                                                          \
    report_yaml_fail(y, TLS_E_INVALID, (mark).line + 1, (mark).column + 1, __VA_ARGS__)
/* "WHAT expects THIS, got THAT" at node n, THAT saying what n is. */
int report_yaml_got(struct report_yaml *y, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const yaml_node_t *report_yaml_node(struct report_yaml *y, int id);
const yaml_node_t *report_yaml_root(struct report_yaml *y);
/* An empty plain scalar, ~ or null. */
bool report_yaml_is_null(const yaml_node_t *n);
/* "a mapping", "a sequence", "an empty value" or the scalar quoted (cut at a character, control
 * characters escaped), for "got ..." in messages. */
const char *report_yaml_describe(const yaml_node_t *n, char *buf, size_t cap);
/* The scalar's text when it holds no NUL, else NULL: values compared with strcmp must not be
 * cut short by a "\0" escape ("required\0junk" is not "required"). */
const char *report_yaml_plain(const yaml_node_t *n);
/* The same where a NUL is an error of its own. */
int report_yaml_str(struct report_yaml *y, const yaml_node_t *n, const char **out);
/* "unknown KIND 'X' WHERE; did you mean 'Y'? Expected one of: A, B" at n (kind "key", "rule",
 * ...; for "rule" the list is introduced as the rules). */
int report_yaml_unknown(struct report_yaml *y, const yaml_node_t *n, const char *kind,
                        const char *where, const char *const *names, size_t count);
/* The keys a mapping may hold (report_yaml_keys). */
#define REPORT_YAML_KEYS_MAX 32
struct report_yaml_keys {
    const char *const *names; /* the keys that may stand in the mapping, at most KEYS_MAX */
    size_t n;
    const char *where; /* "in 'limits'", for "unknown key 'x' in 'limits'; did you mean ..." */
    /* Optional: says what is wrong with a key not in names, instead of that message (a key
     * that belongs elsewhere, say); returns the error. */
    int (*unknown)(void *ctx, const yaml_node_t *k, const char *key);
    /* Optional: each key's value as it comes, in document order (i: its index in names);
     * returns 0 or an error, which ends the walk. */
    int (*visit)(void *ctx, size_t i, const yaml_node_t *v);
    void *ctx;
};
/* The keys of mapping m: each a scalar, one of keys->names and given once (a second time:
 * "'KEY' is given twice (first at LINE:COLUMN)"). seen (keys->n entries, or NULL) gets the value
 * node of each key given, NULL for the others. 0, or the first error. */
int report_yaml_keys(struct report_yaml *y, const yaml_node_t *m,
                     const struct report_yaml_keys *keys, const yaml_node_t **seen);

/* A value that is one scalar or a sequence of scalars: its items one by one. Call with *i 0:
 * returns 1 with *item, 0 after the last, or an error ("'KEY' expects EXPECTS"). */
int report_yaml_list_next(struct report_yaml *y, const yaml_node_t *v, const char *key,
                          const char *expects, size_t *i, const yaml_node_t **item);

#endif
