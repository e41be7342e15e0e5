/* camrig error codes.
 *
 * Functions return int: >= 0 on success, a negative errno on failure. libav's
 * AVERROR(e) is already -e, so libav codes pass straight through. camrig's own
 * codes sit in [-4095, -4000], a range no errno and no libav tag uses (libuv
 * does the same with UV__EOF = -4095). cr_strerror() renders all three. */
#ifndef CR_BASE_ERROR_H
#define CR_BASE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
	CR_ERR_FIRST = -4095,
	CR_EEOF = CR_ERR_FIRST, /* a source reached its end */
	CR_ECONFIG,             /* bad configuration value */
	CR_EFORMAT,             /* unsupported or mismatched pixel format */
	CR_ENOFRAME,            /* the frame pool had no free frame */
	CR_ELOST,               /* the device went away */
	CR_ERR_LAST,
};

/* A static, human-readable string for any camrig, errno or libav error code. */
const char *cr_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
