/* Shared libraries loaded on first use.
 *
 * Why: some of the libraries camrig uses are heavy to map and needed only
 * by parts many daemons never start. FFmpeg's libavcodec and libavformat
 * bring about 150 libraries (x265, rav1e, librsvg, GLib, ...), 17 MiB of
 * RSS, for recording, the pre-trigger, raw H.264, RTSP and the file source;
 * libcurl (ntfy, uploads, the CLI) and libmosquitto (MQTT) bring OpenSSL,
 * Kerberos, LDAP and SSH, about 3 MiB. A daemon that only serves the live
 * view maps none of them.
 *
 * How: camrig is compiled with their headers but not linked against them.
 * Every function of theirs camrig calls is defined in lazy_<library>.c
 * under its own name, with the prototype the header declares (so the
 * compiler checks each one against the header); the first call of any of
 * them opens the library by soname, and each function finds its symbol
 * once. A function missing there fails the link (undefined reference): add
 * it with CR_LAZY(), CR_LAZY_VOID() or CR_LAZY_FREE().
 *
 * The cost moves to the first use: FFmpeg's load takes 40 ms on the
 * machine this was written on (0.2 s from a cold disk), during which
 * glibc's loader lock also holds back the creation of threads, so HTTP
 * requests (a thread each) wait for it once.
 *
 * A part about to use a library calls cr_lazy_load() first, so a missing
 * library fails that part with a reason instead of ending the process. */
#ifndef CR_BASE_LAZY_H
#define CR_BASE_LAZY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One library, opened once on first use. */
struct cr_lazy {
	const char *name;   /* for messages: "FFmpeg's libraries" */
	const char *soname; /* "libavformat.so.59": its DT_NEEDED bring the rest */
	/* private */
	pthread_mutex_t lock;
	atomic_bool tried;
	void *handle;
	char why[512];
};

extern struct cr_lazy cr_lazy_libav;        /* libavformat, and with it libavcodec */
extern struct cr_lazy cr_lazy_libcurl;      /* libcurl */
extern struct cr_lazy cr_lazy_libmosquitto; /* libmosquitto */

/* Opens lib if not yet open. Returns 0, or -1 with the dynamic linker's
 * reason in reason (len bytes, NUL-terminated; reason may be NULL). Safe
 * from any thread; a library is never closed. */
int cr_lazy_load(struct cr_lazy *lib, char *reason, size_t len);

/* Whether lib is open, without opening it. */
bool cr_lazy_is_open(struct cr_lazy *lib);

/* The address of the function name in lib, opening lib first; ends the
 * process with a message when lib or the symbol cannot be found, as the
 * dynamic linker would have at start. For the stubs below. */
void *cr_lazy_symbol(struct cr_lazy *lib, const char *name);

/* The stubs, one per function, in lazy_<library>.c. Each caches its
 * pointer; two first calls racing both resolve the same address. */
#define CR_LAZY_BIND(lib, name)                                                                                       \
	static __typeof__(name) *_Atomic fn;                                                                          \
	__typeof__(name) *f = atomic_load_explicit(&fn, memory_order_acquire);                                        \
	if (!f) {                                                                                                     \
		f = (__typeof__(name) *)cr_lazy_symbol(&(lib), #name);                                                \
		atomic_store_explicit(&fn, f, memory_order_release);                                                  \
	}

#define CR_LAZY(lib, ret, name, params, args)                                                                         \
	ret name params                                                                                               \
	{                                                                                                             \
		CR_LAZY_BIND(lib, name)                                                                               \
		return f args;                                                                                        \
	}

#define CR_LAZY_VOID(lib, name, params, args)                                                                         \
	void name params                                                                                              \
	{                                                                                                             \
		CR_LAZY_BIND(lib, name)                                                                               \
		f args;                                                                                               \
	}

/* A free of nothing (documented as a no-op) does not open the library, so
 * a part that never used it shuts down without it: CR_LAZY_FREE for a
 * function taking `type *` (curl_easy_cleanup), CR_LAZY_FREEP for one
 * taking `type **` (av_packet_free). */
#define CR_LAZY_FREE(lib, name, type)                                                                                 \
	void name(type *p)                                                                                            \
	{                                                                                                             \
		if (!p)                                                                                               \
			return;                                                                                       \
		CR_LAZY_BIND(lib, name)                                                                               \
		f(p);                                                                                                 \
	}

#define CR_LAZY_FREEP(lib, name, type)                                                                                \
	void name(type **p)                                                                                           \
	{                                                                                                             \
		if (!p || !*p)                                                                                        \
			return;                                                                                       \
		CR_LAZY_BIND(lib, name)                                                                               \
		f(p);                                                                                                 \
	}

#ifdef __cplusplus
}
#endif

#endif
