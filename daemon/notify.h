/* notify.h: tells the service manager (systemd, Type=notify) what raftd
 * is doing: ready, reloading, stopping; a no-op without NOTIFY_SOCKET or
 * in a build without libsystemd. */
#ifndef RAFTD_NOTIFY_H
#define RAFTD_NOTIFY_H

#include <stdbool.h>

/* Whether this build sends notifications (configure found libsystemd). */
bool notify_supported(void);
/* READY=1 with STATUS=status: the node serves (its listeners are bound,
 * the node has started and answers status()).  Also after a reload.
 * Returns 0: sent, or nothing to send to; -1 with errno: the send
 * failed.  Any thread. */
int notify_ready(const char *status);
/* RELOADING=1 (with MONOTONIC_USEC, which systemd 253's notify-reload
 * wants) and STATUS=status: SIGHUP is being handled; notify_ready()
 * follows. */
int notify_reloading(const char *status);
/* STOPPING=1 and STATUS=status: the clean shutdown has begun. */
int notify_stopping(const char *status);
/* STATUS=status alone (e.g. why the start failed). */
int notify_status(const char *status);

#endif /* RAFTD_NOTIFY_H */
