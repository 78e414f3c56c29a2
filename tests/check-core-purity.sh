#!/bin/sh
# check-core-purity.sh: fail if the consensus core reads a clock, draws
# random numbers, does I/O or uses threads.  Two checks: the sources must
# not include or call any of them, and the compiled library may reference
# only an allowlist of libc symbols (memory and string helpers).
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
core="$top_srcdir/daemon/core"
lib="$top_builddir/libraftcore.a"
fail=0

files=$(ls "$core"/*.c "$core"/*.h 2>/dev/null)
if [ -z "$files" ]; then
	echo "FAIL: no core sources under $core"
	exit 99
fi

# 1. Forbidden headers.
bad_headers='time\.h|sys/time\.h|sys/times\.h|pthread\.h|threads\.h|unistd\.h|fcntl\.h|sys/socket\.h|netinet/|arpa/|netdb\.h|signal\.h|sys/stat\.h|dirent\.h|semaphore\.h|sys/random\.h|stdatomic\.h|sys/mman\.h'
# shellcheck disable=SC2086 # $files is a list of paths without spaces
if grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<($bad_headers)>" $files; then
	echo "FAIL: the core includes a header for clocks, threads, files or sockets"
	fail=1
fi

# 2. Forbidden calls in the sources (comments stripped crudely).
bad_calls='time|clock|clock_gettime|gettimeofday|rand|random|srand|srandom|rand_r|drand48|getrandom|arc4random|open|fopen|read|write|fread|fwrite|close|fclose|fsync|fdatasync|printf|fprintf|puts|fputs|perror|socket|connect|accept|bind|send|recv|sendto|recvfrom|sleep|usleep|nanosleep|pthread_[a-z_]+|mtx_[a-z]+|thrd_[a-z]+|exit|getenv|system'
for f in $files; do
	# The compiler strips the comments (no macro expansion, no includes).
	if ${CC:-cc} -fpreprocessed -dD -E -P -x c "$f" 2>/dev/null |
	   grep -nE "(^|[^A-Za-z0-9_.>])($bad_calls)[[:space:]]*\(" ; then
		echo "FAIL: $f calls a clock, random, file, socket or thread function"
		fail=1
	fi
done
if false; then
	echo "FAIL: the core calls a clock, random, file, socket or thread function"
	fail=1
fi

# 3. Undefined symbols of the compiled core must be on the allowlist.
if [ -f "$lib" ]; then
	allowed='^(malloc|calloc|realloc|free|memcpy|memmove|memset|memcmp|strlen|strcmp|strncmp|vsnprintf|snprintf|__assert_fail|abort|__stack_chk_fail|__memcpy_chk|__memset_chk|__memmove_chk|__vsnprintf_chk|__snprintf_chk|_GLOBAL_OFFSET_TABLE_|__(asan|ubsan|tsan|sanitizer|lsan)_[A-Za-z0-9_]*)$'
	undef=$(nm -u "$lib" 2>/dev/null | awk 'NF==2 && $1=="U" {print $2}' | sort -u)
	for s in $undef; do
		if ! echo "$s" | grep -qE "$allowed"; then
			echo "FAIL: libraftcore.a references $s"
			fail=1
		fi
	done
else
	echo "FAIL: $lib not built"
	fail=1
fi

if [ $fail -ne 0 ]; then
	exit 1
fi
echo "core purity: $(echo "$files" | wc -w) files clean, $(echo "$undef" | wc -w) external symbols all allowed"
exit 0
