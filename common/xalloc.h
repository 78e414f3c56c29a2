/* xalloc.h: allocation that never returns NULL.
 *
 * Out of memory is fatal in raftd and raftctl (as in tmux and openssh):
 * no caller has a sensible way to go on without the memory, and a NULL
 * check at every call site is a place to get it wrong.  These print one
 * line to stderr and abort().  The pure consensus core keeps its own
 * (it must not depend on anything). */
#ifndef RAFT_COMMON_XALLOC_H
#define RAFT_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* n bytes of s and a NUL; the result is the caller's to free. */
char *xmemdup(const void *s, size_t n);
char *xstrdup(const char *s);

#endif /* RAFT_COMMON_XALLOC_H */
