/* logsys.c: raftd's log lines to syslog, facility daemon. */
#include "logsys.h"

#include <syslog.h>

/* log.c passes the RFC 5424 numbers; <syslog.h> must agree. */
_Static_assert(LOG_ERR == 3 && LOG_WARNING == 4 && LOG_INFO == 6 &&
		   LOG_DEBUG == 7,
	       "syslog severities are RFC 5424's");

void logsys_open(void)
{
	/* LOG_NDELAY: connect now, before any chroot or sandbox could hide
	 * /dev/log. */
	openlog("raftd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void logsys_send(int severity, const char *line)
{
	if (severity < LOG_EMERG || severity > LOG_DEBUG)
		severity = LOG_INFO;
	syslog(LOG_DAEMON | severity, "%s", line);
}
