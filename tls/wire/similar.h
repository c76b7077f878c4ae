/* "Did you mean": the closest of a few known words to one that was mistyped (options, rule ids).
 * Distances are those of Damerau (optimal string alignment: insert, delete, substitute, or swap
 * two neighbours, each costing 1), so "--fial-on" is one step from "--fail-on". */
#ifndef TLS_WIRE_SIMILAR_H
#define TLS_WIRE_SIMILAR_H

#include <stddef.h>

/* Words longer than this are never close to anything. */
#define TLS_SIMILAR_MAX 64

/* The distance between a and b, or TLS_SIMILAR_MAX + 1 when either is longer than that. */
size_t tls_edit_distance(const char *a, const char *b);

/* The index of the word of words[0..n) closest to word, when it is close enough to be what was
 * meant (at most 2 steps, and at most a third of the word's length); -1 otherwise. The first of
 * equally close words wins. */
long tls_closest(const char *word, const char *const *words, size_t n);

#endif
