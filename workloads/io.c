/* SPDX-License-Identifier: MIT */
/*
 * io: open /dev/zero, read one byte, close -- the seed's io job: three
 * system calls and a file-descriptor table update per job, no disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "pb.h"
#include "workload.h"

#define IO_PATH "/dev/zero"

static int io_once(void)
{
	unsigned char b;
	ssize_t r;
	int fd, err = 0;

	fd = open(IO_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		r = read(fd, &b, 1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		err = -errno;
	else if (r != 1)
		err = -EIO;   /* /dev/zero never ends: something is wrong */
	close(fd);
	return err;
}

/* Fails early (with the errno) if /dev/zero cannot be read here. */
static int io_init(const struct pb_optvals *opts, void **ctx)
{
	(void)opts;
	*ctx = NULL;
	return io_once();
}

/* Thread-safe: every call uses its own descriptor. */
static int io_run(void *ctx, uint64_t arg)
{
	(void)ctx;
	(void)arg;
	return io_once();
}

static void io_fini(void *ctx)
{
	(void)ctx;
}

/* Concurrency: init/fini on one thread; run() from any number of threads at once. */
const struct pb_workload_ops pb_workload_io = {
	.abi = PB_ABI_VERSION,
	.name = "io",
	.summary = "open " IO_PATH ", read 1 byte, close (the seed's io job); -errno on failure",
	.flags = 0,
	.options = NULL,
	.supported = NULL,
	.init = io_init,
	.run = io_run,
	.fini = io_fini,
};
