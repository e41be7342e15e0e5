/* cr_strerror(): one renderer for camrig, errno and libav error codes. */
#include "base/error.h"

#include <libavutil/error.h>
#include <string.h>
#include <threads.h>

static const char *const messages[] = {
	[CR_EEOF - CR_ERR_FIRST] = "end of stream",
	[CR_ECONFIG - CR_ERR_FIRST] = "invalid configuration",
	[CR_EFORMAT - CR_ERR_FIRST] = "unsupported pixel format",
	[CR_ENOFRAME - CR_ERR_FIRST] = "frame pool exhausted",
	[CR_ELOST - CR_ERR_FIRST] = "device lost",
};

const char *cr_strerror(int err)
{
	static thread_local char buf[128];

	if (err >= CR_ERR_FIRST && err < CR_ERR_LAST)
		return messages[err - CR_ERR_FIRST];
	if (err < 0 && err > -4000)
		return strerror(-err);
	if (av_strerror(err, buf, sizeof(buf)) == 0)
		return buf;
	return "unknown error";
}
