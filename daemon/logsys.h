/* logsys.h: raftd's log lines to syslog (kept apart from log.h, whose
 * level names <syslog.h> would redefine). */
#ifndef RAFTD_LOGSYS_H
#define RAFTD_LOGSYS_H

/* openlog("raftd", with the pid, facility daemon).  Once, before any
 * thread. */
void logsys_open(void);
/* One line at `severity` (RFC 5424: 3 err, 4 warning, 6 info, 7 debug).
 * Any thread. */
void logsys_send(int severity, const char *line);

#endif /* RAFTD_LOGSYS_H */
