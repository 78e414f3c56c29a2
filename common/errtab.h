/* errtab.h: one way to name error codes.  Each module lists its codes with
 * their messages in a table beside its enum, and its *_strerror() looks the
 * code up here, instead of a switch of its own per module. */
#ifndef RAFT_COMMON_ERRTAB_H
#define RAFT_COMMON_ERRTAB_H

#include <stddef.h>

struct errtab {
	int code;
	const char *msg;
};

/* The message of `code` in t[0..n), or `unknown`. */
static inline const char *errtab_lookup(const struct errtab *t, size_t n,
					int code, const char *unknown)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].msg;
	return unknown;
}

#define ERRTAB_LOOKUP(t, code, unknown)                                        \
	errtab_lookup((t), sizeof(t) / sizeof((t)[0]), (code), (unknown))

#endif /* RAFT_COMMON_ERRTAB_H */
