/* Synthetic load for bench/native-throughput.ts: one tiny write() per
 * record into a pipe drained by an untraced child.
 *   loadgen <calls_per_second|0 = as fast as possible> <seconds> <bytes_per_write> [getppid]
 * With "getppid" each call is getppid() instead (bench/burst.bpf.c turns
 * each into a burst of records).
 * Prints its pid, waits for a line on stdin (the bench adds the pid to the
 * sensor meanwhile), runs, then prints "<writes> <elapsed_ns>". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	double rate = atof(argv[1]);
	double secs = atof(argv[2]);
	int size = atoi(argv[3]);
	int use_getppid = argc > 4 && argv[4][0] == 'g';
	char buf[4096] = { 0 };
	if (size < 1 || size > (int)sizeof(buf))
		return 2;
	int p[2];
	if (pipe(p))
		return 1;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	pid_t reader = fork();
	if (reader == 0) {
		static char rb[1 << 16];
		close(p[1]);
		while (read(p[0], rb, sizeof(rb)) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	printf("%d\n", getpid());
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), t = t0;
	uint64_t n = 0;
	while (t < end) {
		uint64_t due = rate > 0 ? (uint64_t)((double)(t - t0) * rate / 1e9) + 64 : n + 1024;
		while (n < due) {
			if (use_getppid)
				syscall(SYS_getppid); /* not cached by libc */
			else if (write(p[1], buf, size) != size)
				return 1;
			n++;
		}
		t = now_ns();
		if (rate > 0 && n >= (uint64_t)((double)(t - t0) * rate / 1e9) + 64) {
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
			t = now_ns();
		}
	}
	uint64_t el = now_ns() - t0;
	close(p[1]);
	waitpid(reader, NULL, 0);
	printf("%llu %llu\n", (unsigned long long)n, (unsigned long long)el);
	return 0;
}
