/* Edit distances for suggestions (similar.h): one row of the dynamic programme and the one
 * before it, on the stack; words are short. */
#include <string.h>

#include "similar.h"

size_t tls_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > TLS_SIMILAR_MAX || m > TLS_SIMILAR_MAX)
        return TLS_SIMILAR_MAX + 1;
    size_t rows[3][TLS_SIMILAR_MAX + 1]; /* i - 2, i - 1, i */
    for (size_t j = 0; j <= m; j++)
        rows[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t *cur = rows[i % 3], *prev = rows[(i + 2) % 3], *prev2 = rows[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t d = prev[j - 1] + cost;
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1; /* two neighbours swapped */
            cur[j] = d;
        }
    }
    return n == 0 ? m : rows[n % 3][m];
}

long tls_closest(const char *word, const char *const *words, size_t n)
{
    size_t len = strlen(word), best = TLS_SIMILAR_MAX + 1;
    long at = -1;
    for (size_t i = 0; i < n; i++) {
        size_t d = tls_edit_distance(word, words[i]);
        if (d < best) {
            best = d;
            at = (long)i;
        }
    }
    if (at < 0 || best > 2 || best * 3 > len)
        return -1;
    return at;
}
